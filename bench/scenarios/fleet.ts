import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { base32Encode } from '../../src/core/totp.js';
import { createLab, type Host, type Lab } from '../../src/lab/netns.js';
import { startDaemon } from '../../src/lab/processes.js';
import { startRedis } from '../../src/lab/redis-server.js';
import { flood } from '../lab-jobs.js';
import { sampleProc } from '../proc-stats.js';
import type { BenchContext, BenchResult } from '../result.js';
import { latencySummary, round } from '../stats.js';

const PASSWORD = 'bench-redis-password-51c2';
/** One SYN to this port from a new address is a grant (a 1-port sequence door), so spoofed SYNs make grants. */
const LATENCY_PORT = 7001;
const BULK_PORT = 7101;
const OUTAGE_PORT = 7201;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Daemon = Awaited<ReturnType<typeof startDaemon>>;
interface Node {
  readonly name: string;
  readonly host: Host;
  daemon: Daemon;
}

/**
 * Fleet: three nodes (`sesame serve` each) and a redis-server in lab namespaces.
 * - latency: one spoofed SYN opens a 1-port door on A; the time from A's `open` log line to
 *   C's (`via=fleet`, written once C's kernel holds it), p50/p99 (log times are whole ms);
 * - throughput: 1,000 grants/s made on the three nodes at once (a third each) for a few seconds;
 *   every node must end with every grant (none lost), and how long after the last SYN;
 * - convergence: Redis killed, grants made on A meanwhile, Redis restarted: time from its
 *   restart until B and C hold every one of them.
 */
export async function fleet(ctx: BenchContext): Promise<BenchResult[]> {
  if (!ctx.tools.includes('sesame')) return [];
  const samples = ctx.quick ? 10 : 200;
  const seconds = ctx.quick ? 1 : 10;
  const outageGrants = ctx.quick ? 100 : 1000;
  const lab = createLab({ clients: 1, peers: 3, name: 'fleet' });
  const dir = join(tmpdir(), `sesame-bench-fleet-${process.pid}`);
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'redis.pass'), `${PASSWORD}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'fleet.key'), `${base32Encode(randomBytes(20))}\n`, { mode: 0o600 });
    const redisHost = lab.peers[2];
    redis = await startRedis(lab, redisHost, PASSWORD);
    const hosts = [lab.server, lab.peers[0], lab.peers[1]];
    const nodes: Node[] = [];
    for (const [i, name] of ['a', 'b', 'c'].entries()) {
      const nodeDir = join(dir, name);
      mkdirSync(nodeDir);
      const config = join(nodeDir, 'sesame.yaml');
      writeFileSync(config, nodeConfig(name, redisHost.v4));
      const daemon = await startDaemon(lab, hosts[i], ['-c', config, '--state-dir', nodeDir, '--log-format', 'json']);
      nodes.push({ name, host: hosts[i], daemon });
    }
    for (const n of nodes) await until(() => /fleet-catch-up/.test(n.daemon.output()), 10_000);
    const [a, b, c] = nodes;
    const client = lab.clients[0];

    ctx.log(`fleet: latency, ${samples} grants on A seen on C`);
    // one sender for every sample, one SYN each 100 ms from a new address: a sender started per
    // sample (python's start and exit) competes for the CPU with A, Redis and C at the moment measured
    const sources = Array.from({ length: samples }, (_, i) => `198.19.128.${1 + i}`);
    await flood(lab, client, {
      target: a.host.v4,
      ports: [LATENCY_PORT],
      blocks: [sources[0]],
      sources: samples,
      count: samples,
      rate: 10,
      batch: 1,
      maxSeconds: samples / 10 + 10,
    });
    await until(() => openTimes(c.daemon.output(), 'lat').size >= samples, 5000, 50);
    const onA = openTimes(a.daemon.output(), 'lat', true);
    const onC = openTimes(c.daemon.output(), 'lat');
    const latencies: number[] = [];
    for (const source of sources) {
      const [made, seen] = [onA.get(source), onC.get(source)];
      if (seen && made) latencies.push(seen - made);
    }

    // a little over 1,000/s in all: the sender's rate loop runs slightly behind on a busy host
    const perSecond = 340;
    const perNode = perSecond * seconds;
    ctx.log(`fleet: throughput, ${perNode * 3} grants in ${seconds} s across three nodes`);
    const blocks = ['198.19.0.0', '198.19.32.0', '198.19.64.0'];
    const opens = nodes.map((n) => opensCounter(n.daemon, 'bulk'));
    const cpuBefore = [...nodes.map((n) => n.daemon.pid ?? 0), redis.process.pid ?? 0].map(sampleProc);
    // the three senders start in step (python's start-up under load would otherwise stagger them)
    const startAt = Date.now() + 3000;
    const sending = Promise.all(
      nodes.map((n, i) =>
        flood(lab, client, {
          target: n.host.v4,
          ports: [BULK_PORT],
          blocks: [blocks[i]],
          sources: perNode,
          count: perNode,
          rate: perSecond,
          batch: 8,
          startAt,
          maxSeconds: seconds + 10,
        }),
      ),
    );
    // progress from the daemons' `open` lines (each written once the grant is in that kernel):
    // listing three kernel sets every few ms would compete for the CPU with what is measured
    let sendDone = false;
    void sending.finally(() => (sendDone = true));
    await until(() => sendDone, (seconds + 40) * 1000, 100);
    const sent = await sending;
    const total = sent.reduce((s, r) => s + r.sent, 0);
    const began = Math.min(...sent.map((r) => r.began));
    const lastSyn = Math.max(...sent.map((r) => r.began + r.seconds * 1000));
    const complete = await until(() => opens.every((count) => count() >= total) && Date.now(), 30_000, 10);
    const cpuAfter = [...nodes.map((n) => n.daemon.pid ?? 0), redis.process.pid ?? 0].map(sampleProc);
    const cpuS = cpuAfter.map((after, i) => after.cpuS - cpuBefore[i].cpuS);
    const held = await Promise.all(nodes.map((n) => setSize(lab, n.host, 'bulk')));

    ctx.log(`fleet: convergence, ${outageGrants} grants on A while Redis is down`);
    await redis.stop();
    redis = undefined;
    await until(() => /fleet-disconnected/.test(a.daemon.output()), 5000);
    await flood(lab, client, {
      target: a.host.v4,
      ports: [OUTAGE_PORT],
      blocks: ['198.19.96.0'],
      sources: outageGrants,
      count: outageGrants,
      rate: 1000,
      maxSeconds: 30,
    });
    await until(async () => (await setSize(lab, a.host, 'outage')) >= outageGrants, 5000, 50);
    const beforeBack = await Promise.all([b, c].map((n) => setSize(lab, n.host, 'outage')));
    const outageOpens = [b, c].map((n) => opensCounter(n.daemon, 'outage'));
    redis = await startRedis(lab, redisHost, PASSWORD);
    const back = performance.now();
    const converged = await until(() => outageOpens.every((count) => count() >= outageGrants), 30_000, 10);
    const convergeMs = performance.now() - back;
    const outageHeld = await Promise.all([b, c].map((n) => setSize(lab, n.host, 'outage')));

    return [
      {
        scenario: 'fleet',
        tool: 'sesame',
        figures: {
          nodes: 3,
          latency_samples: latencies.length,
          ...prefixed('a_to_c_', latencySummary(latencies)),
          grants_per_s_target: perSecond * 3,
          grants_sent: total,
          send_seconds: round((lastSyn - began) / 1000, 2),
          grants_per_s_offered: round(total / ((lastSyn - began) / 1000), 0),
          grants_per_s_applied_everywhere: complete ? round(total / ((complete - began) / 1000), 0) : 0,
          grants_held_per_node: held,
          lost: Math.max(0, total - Math.min(...held)),
          all_nodes_complete: Boolean(complete),
          converged_after_last_syn_ms: complete ? round(complete - lastSyn, 0) : null,
          // every node handles every grant: a third from its own kernel, the rest from Redis
          daemon_cpu_ms_per_grant: cpuS.slice(0, 3).map((c) => round((c * 1000) / total, 3)),
          redis_cpu_ms_per_grant: round((cpuS[3] * 1000) / total, 3),
          load_average_1m: round(loadavg()[0], 2),
          outage_grants: outageGrants,
          outage_grants_on_b_c_before_redis_back: beforeBack,
          outage_converged: Boolean(converged) && outageHeld.every((k) => k >= outageGrants),
          redis_back_to_converged_ms: round(convergeMs, 0),
        },
        notes: [
          'latency = C\'s "open via=fleet" log time minus A\'s "open" log time (whole ms; C logs after its kernel holds the grant)',
          `throughput: ${perSecond} spoofed first SYNs/s to each node on a 1-port door, each from a new address`,
          `convergence includes ioredis's reconnect backoff (at most 5 s between tries)`,
        ],
      },
    ];
  } finally {
    await redis?.stop();
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

function nodeConfig(name: string, redisV4: string): string {
  const door = (port: number, forS: number) =>
    `    knock: [${port}]\n    within: 10s\n    open: [${port + 1}]\n    for: ${forS}s\n`;
  return `fleet:
  redis: redis://${redisV4}:6379/0
  name: bench
  node: ${name}
  password_file: ../redis.pass
  key: ../fleet.key
scan_guard: false
doors:
  lat:
${door(LATENCY_PORT, 60)}  bulk:
${door(BULK_PORT, 300)}  outage:
${door(OUTAGE_PORT, 300)}`;
}

/** Epoch ms of the first `open` (or `renew`) log line of `door` per address; `own`: not from the fleet. */
function openTimes(output: string, door: string, own = false): Map<string, number> {
  const times = new Map<string, number>();
  for (const line of output.split('\n')) {
    if (!line.includes(`"door":"${door}"`)) continue;
    let e: { event?: string; via?: string; time?: string; address?: string };
    try {
      e = JSON.parse(line);
    } catch {
      continue;
    }
    if ((e.event !== 'open' && e.event !== 'renew') || !e.address || times.has(e.address)) continue;
    if (own === (e.via === 'fleet')) continue;
    times.set(e.address, Date.parse(e.time ?? ''));
  }
  return times;
}

/** Counts the `open` lines of `door` a daemon has written so far, reading only what is new each call. */
function opensCounter(daemon: Daemon, door: string): () => number {
  let read = 0;
  let count = 0;
  const needle = `"door":"${door}"`;
  return () => {
    const out = daemon.output();
    const end = out.lastIndexOf('\n') + 1;
    for (const line of out.slice(read, end).split('\n'))
      if (line.includes('"event":"open"') && line.includes(needle)) count++;
    read = end;
    return count;
  };
}

/** Elements in a door's v4 grant set on `host`. */
async function setSize(lab: Lab, host: Host, door: string): Promise<number> {
  const r = await lab.run(host, 'nft', ['-j', 'list', 'set', 'inet', 'sesame', `${door}_open_4`]);
  if (r.code !== 0) return 0;
  let n = 0;
  for (const item of JSON.parse(r.stdout).nftables ?? []) n += item.set?.elem?.length ?? 0;
  return n;
}

/** Polls `fn` every `everyMs` until it is truthy or `timeoutMs` passes (then false). */
async function until<T>(fn: () => T | Promise<T>, timeoutMs: number, everyMs = 5): Promise<T | false> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

function prefixed(prefix: string, o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [`${prefix}${k}`, v]));
}
