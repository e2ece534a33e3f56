import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFwknopAccess } from '../../src/config/fwknop-access.js';
import { SpaGate } from '../../src/core/spa/admit.js';
import { checkWire, makeSpaPacket } from '../../src/core/spa/packet.js';
import { addClientAddresses, ipv4Range } from '../../src/lab/addresses.js';
import { createLab, type Host, type Lab } from '../../src/lab/netns.js';
import { startDaemon, startEchoServer, waitForLine } from '../../src/lab/processes.js';
import { clientJob } from '../lab-jobs.js';
import { has } from '../tools.js';
import { cpuBetween, sampleProc } from '../proc-stats.js';
import type { BenchContext, BenchResult } from '../result.js';
import type { SpaClientJob } from '../spa-client.js';
import { latencySummary, percentile, round, share } from '../stats.js';

/**
 * SPA, sesame vs Debian's fwknopd 2.6.10 on the identical access.conf stanza (SOURCE ANY,
 * OPEN_PORTS tcp/80; fwknopd with its iptables backend above an iptables drop of tcp/80):
 *   - packet → connected: per try, a fresh source address sends one UDP packet and connects
 *     at once; first SYN accepted = connected before TCP's 1 s retransmit;
 *   - the same while 20,000 forged packets/s (wrong HMAC) arrive, bounded in count and time;
 *   - packets verified per second on one core (sesame, in-process: valid and forged HMAC).
 */

const SPA_CLIENT = fileURLToPath(new URL('../spa-client.js', import.meta.url));
const PORT = 80;
const RTT_PORT = 81;
const FLOOD_RATE = 20_000;

type SpaTool = 'sesame' | 'fwknopd';

export async function spaJob<T>(lab: Lab, host: Host, job: SpaClientJob): Promise<T> {
  const r = await lab.run(host, process.execPath, [SPA_CLIENT, JSON.stringify(job)], { timeoutMs: 600_000 });
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`spa-client (${job.mode}) failed: ${r.stderr || r.stdout || `exit ${r.code}`}`);
  }
}

export async function spa(ctx: BenchContext): Promise<BenchResult[]> {
  const tools: SpaTool[] = has('fwknopd') ? ['sesame', 'fwknopd'] : ['sesame'];
  // first, while the process is fresh (no lab output buffered, nothing for the GC to do)
  ctx.log('spa: verify rate (sesame, one core)');
  const verify: BenchResult = {
    scenario: 'spa-verify',
    tool: 'sesame',
    figures: await verifyRate(ctx.quick ? 300 : 1500),
  };
  const results: BenchResult[] = [];
  for (const tool of tools) {
    ctx.log(`spa: ${tool}`);
    const { samples, ...figures } = await runTool(tool, ctx);
    results.push({ scenario: 'spa', tool, figures, samples: samples as number[] });
  }
  if (!tools.includes('fwknopd'))
    results[0] = { ...results[0], notes: ['fwknopd is not installed (apt install fwknop-server)'] };
  return [...results, verify];
}

async function runTool(tool: SpaTool, ctx: BenchContext): Promise<Record<string, unknown>> {
  const n = ctx.quick ? 6 : 200;
  const floodS = ctx.quick ? 2 : 10;
  // a try that misses its first SYN takes 1.2 s: --quick makes 4, over the 2 s flood and after it
  const floodTries = ctx.quick ? 4 : floodS * 4;
  const dir = mkdtempSync(join(tmpdir(), `sesame-bench-spa-${tool}-`));
  const lab = createLab({ clients: 2, name: 'spa' });
  let daemon: ChildProcess | undefined;
  try {
    const [client, flooder] = lab.clients;
    const pool = ipv4Range('198.18.16.0', n + floodTries);
    const ackPool = ipv4Range('198.18.24.0', n);
    await addClientAddresses(lab, client, [...pool, ...ackPool], '198.18.16.0/20');
    await startEchoServer(lab, lab.server, [PORT, RTT_PORT]);
    const key = randomBytes(32).toString('base64');
    const hmac = randomBytes(64).toString('base64');
    const access = join(dir, 'access.conf');
    writeFileSync(
      access,
      `SOURCE ANY\nKEY_BASE64 ${key}\nHMAC_KEY_BASE64 ${hmac}\nOPEN_PORTS tcp/${PORT}\nFW_ACCESS_TIMEOUT 60\n`,
    );
    daemon = tool === 'sesame' ? await startSesame(lab, dir, access) : await startFwknopd(lab, dir, access);

    const rtt = await clientJob<{ ms: number[] }>(lab, client, {
      mode: 'rtt',
      target: lab.server.v4,
      port: RTT_PORT,
      n: 20,
    });
    const job = (from: string[], spacingMs: number, waitAck = false): SpaClientJob => ({
      mode: 'tries',
      target: lab.server.v4,
      port: PORT,
      from,
      key,
      hmac,
      spacingMs,
      timeoutMs: 3500,
      // false: as the stock fwknop client, send and connect at once; true: as sesame's own
      // client, wait for the UDP answer sent once the grant is in the kernel
      waitAck,
    });
    const { tries } = await spaJob<{ tries: { result: string; ms: number }[] }>(lab, client, job(pool.slice(0, n), 0));
    const opened = tries.filter((t) => t.result === 'open');
    const answered =
      tool === 'sesame'
        ? (await spaJob<{ tries: { result: string; ms: number }[] }>(lab, client, job(ackPool, 0, true))).tries
        : [];

    const before = sampleProc(daemon.pid as number);
    const [floodResult, during] = await Promise.all([
      spaJob<{ sent: number; seconds: number; pps: number }>(lab, flooder, {
        mode: 'flood',
        target: lab.server.v4,
        rate: FLOOD_RATE,
        seconds: floodS,
      }),
      // the legitimate packets start once the flood is running
      new Promise((r) => setTimeout(r, 300)).then(() =>
        spaJob<{ tries: { result: string; ms: number }[] }>(lab, client, job(pool.slice(n), 200)),
      ),
    ]);
    const after = sampleProc(daemon.pid as number);
    const flooded = during.tries.filter((t) => t.result === 'open');
    return {
      tries: n,
      opened: opened.length,
      first_syn_pct: share(tries.filter((t) => t.result === 'open' && t.ms < 1000).length, n),
      // packet -> connected: what a user waits for
      ...latencySummary(opened.map((t) => t.ms)),
      rtt_p50_ms: round(percentile(rtt.ms, 50)),
      ...(answered.length
        ? {
            answered_first_syn_pct: share(answered.filter((t) => t.result === 'open' && t.ms < 1000).length, n),
            answered_p50_ms: round(
              percentile(
                answered.filter((t) => t.result === 'open').map((t) => t.ms),
                50,
              ),
            ),
            answered_p99_ms: round(
              percentile(
                answered.filter((t) => t.result === 'open').map((t) => t.ms),
                99,
              ),
            ),
          }
        : {}),
      ...(tool === 'sesame' ? { kernel_nft_queue: await nftQueue(lab) } : {}),
      flood_sent: floodResult.sent,
      flood_pps: floodResult.pps,
      flood_tries: during.tries.length,
      flood_opened_pct: share(flooded.length, during.tries.length),
      flood_first_syn_pct: share(flooded.filter((t) => t.ms < 1000).length, during.tries.length),
      flood_open_p50_ms: round(
        percentile(
          flooded.map((t) => t.ms),
          50,
        ),
      ),
      ...cpuBetween(before, after),
      rss_kb: after.rssKb,
      // for the latency plot (not a figure)
      samples: opened.map((t) => round(t.ms)),
    };
  } finally {
    daemon?.kill('SIGKILL');
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether the lab kernel has nft `queue`, which sesame's zero-RTT hold for stock clients needs. */
async function nftQueue(lab: Lab): Promise<boolean> {
  const probe = 'table inet sesame_probe {\n  chain probe {\n    tcp dport 9 queue num 9\n  }\n}\n';
  const dir = mkdtempSync(join(tmpdir(), 'sesame-bench-probe-'));
  try {
    writeFileSync(join(dir, 'probe.nft'), probe);
    return (await lab.run(lab.server, 'nft', ['-c', '-f', join(dir, 'probe.nft')])).code === 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function startSesame(lab: Lab, dir: string, access: string): Promise<ChildProcess> {
  return startDaemon(lab, lab.server, ['--fwknop-access', access, '--state-dir', dir, '--log-format', 'json']);
}

/** fwknopd in the server namespace: its own config, digest cache and run dir; iptables there only. */
async function startFwknopd(lab: Lab, dir: string, access: string): Promise<ChildProcess> {
  await lab.run(lab.server, 'iptables', ['-A', 'INPUT', '-p', 'tcp', '--dport', String(PORT), '-j', 'DROP']);
  writeFileSync(join(dir, 'fwknopd.conf'), 'PCAP_INTF br0;\nENABLE_PCAP_PROMISC N;\n');
  const child = lab.spawn(lab.server, 'fwknopd', [
    '-f',
    '-i',
    'br0',
    '-c',
    join(dir, 'fwknopd.conf'),
    '-a',
    access,
    '-d',
    join(dir, 'digest.cache'),
    '-p',
    join(dir, 'fwknopd.pid'),
    '-r',
    dir,
  ]);
  await waitForLine(child, /Sniffing interface/i);
  return child;
}

/** Packets through the whole server-side check (HMAC, replay hook, decrypt, policy) per CPU second. */
async function verifyRate(n: number): Promise<Record<string, unknown>> {
  const key = { key: randomBytes(32), hmacKey: randomBytes(64), hmacType: 'sha256' as const };
  const doors = parseFwknopAccess(
    `SOURCE ANY\nKEY_BASE64 ${key.key.toString('base64')}\nHMAC_KEY_BASE64 ${key.hmacKey.toString('base64')}\nOPEN_PORTS tcp/22\n`,
  );
  const gate = new SpaGate(doors);
  const now = Date.now();
  const valid = Array.from({ length: n }, () =>
    makeSpaPacket(
      {
        username: 'bench',
        timestamp: Math.floor(now / 1000),
        allowIp: '198.18.0.2',
        access: [{ proto: 'tcp', port: 22 }],
      },
      key,
    ),
  );
  const forged = valid.map((p) => p.slice(0, -43) + randomBytes(32).toString('base64').slice(0, 43));
  const rate = async (packets: string[], expect: boolean) => {
    let ok = 0;
    let done = 0;
    const started = performance.now();
    const cpu = process.cpuUsage();
    // at least a second of work, so timer resolution doesn't matter
    while (performance.now() - started < 1000) {
      for (const p of packets) {
        const w = checkWire(p);
        if (!w.ok) continue;
        const a = await gate.admit(w.wire, '198.18.0.2', undefined, now, () => true);
        if (a.ok === expect) ok++;
        done++;
      }
    }
    // CPU time, not wall time: "per core" on a host other work shares
    const used = process.cpuUsage(cpu);
    const seconds = (used.user + used.system) / 1e6;
    return { per_s: Math.round(done / seconds), ok, done };
  };
  const v = await rate(valid, true);
  const f = await rate(forged, false);
  if (v.ok !== v.done || f.ok !== f.done) throw new Error('spa verify bench: a verdict was not the expected one');
  return { valid_per_s: v.per_s, forged_per_s: f.per_s };
}
