import { spawn } from 'node:child_process';
import { DAEMON_NODE_FLAGS } from '../../src/lab/processes.js';
import { SPOOF_BLOCKS, withBenchLab } from '../bench-lab.js';
import { bundledSesame } from '../bundled-sesame.js';
import { flood } from '../lab-jobs.js';
import { cpuBetween, sampleProc } from '../proc-stats.js';
import type { BenchContext, BenchResult } from '../result.js';
import { PING_PORT, type ToolName } from '../tools.js';

const SOURCES = 1000;
const PPS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Daemon footprint: RSS when idle, then after N "open" events: a 1-port door (every SYN to
 * PING_PORT is a grant, an NFLOG event for sesame, a forked command for knockd), hit by N
 * SYNs from 1,000 spoofed addresses at a fixed rate.
 */
export async function footprint(ctx: BenchContext): Promise<BenchResult[]> {
  // knockd forks a command per event (40-100/s on this 2-CPU host): --quick keeps its drain short
  const events = ctx.quick ? 300 : 100_000;
  const out: BenchResult[] = [];
  // the daemon as installed: the bundle, with sesame.service's node options (startDaemon)
  const sesameBin = await bundledSesame();
  for (const tool of ctx.tools) {
    ctx.log(`footprint: ${tool}, ${events} open events`);
    const r = await measure(tool, events, sesameBin);
    if (tool === 'sesame') {
      // the same with V8's lite mode (no optimizing compiler): less memory, more CPU per event
      ctx.log(`footprint: sesame with node --lite-mode, ${events} open events`);
      const lite = await measure(tool, events, sesameBin, ['--lite-mode']);
      for (const k of ['rss_kb_idle', 'rss_kb_after', 'rss_kb_peak', 'events_handled', 'cpu_s'] as const)
        r.figures[`lite_${k}`] = lite.figures[k];
      r.notes.push('lite_*: the same daemon started with `node --lite-mode` as well');
      // node's own floor: a bare node process doing nothing, same binary, same options
      r.figures.node_rss_kb_idle = await bareNodeRssKb();
      r.notes.push('node_rss_kb_idle: `node -e` waiting on a timer, with the same NODE_OPTIONS, 2 s after start');
    }
    out.push(r);
  }
  return out;
}

async function measure(
  tool: ToolName,
  events: number,
  sesameBin: string,
  sesameNodeFlags?: readonly string[],
): Promise<BenchResult & { figures: Record<string, unknown>; notes: string[] }> {
  return withBenchLab(tool, { clientAddresses: 1, pingDoor: true, sesameBin, sesameNodeFlags }, async (b) => {
    await sleep(2000);
    const idle = sampleProc(b.tool.pid);
    const opensBefore = b.tool.opens();
    const sent = await flood(b.lab, b.flooder, {
      target: b.target,
      ports: [PING_PORT],
      blocks: [SPOOF_BLOCKS[0].first],
      sources: SOURCES,
      count: events,
      rate: PPS,
      maxSeconds: events / PPS + 10,
      freshSport: true,
    });
    const drained = await settle(() => b.tool.opens(), 30_000);
    const after = sampleProc(b.tool.pid);
    return {
      scenario: 'footprint',
      tool,
      figures: {
        rss_kb_idle: idle.rssKb,
        rss_kb_idle_anon: idle.anonKb,
        rss_kb_idle_file: idle.fileKb,
        events_sent: sent.sent,
        events_handled: drained.value - opensBefore,
        drain_ms: drained.ms,
        rss_kb_after: after.rssKb,
        rss_kb_after_anon: after.anonKb,
        rss_kb_peak: after.hwmKb,
        ...cpuBetween(idle, after),
      },
      notes: [
        ...b.tool.notes,
        `events_handled = grants the daemon logged (sesame: open/renew lines; knockd: OPEN SESAME lines), waited until stable for 1 s (max 30 s)`,
        ...(tool === 'knockd'
          ? ['knockd runs /bin/true per event here (the door command), not iptables']
          : [
              `sesame: the bundle (${sesameBin}) with sesame.service's NODE_OPTIONS; every SYN a new connection (source port), set_size 262144 so the door's per-connection set holds them all`,
            ]),
      ],
    };
  });
}

/** RSS of a node process that only waits, 2 s after it started (with the daemon's node options). */
async function bareNodeRssKb(): Promise<number> {
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, '-e', 'setTimeout(() => {}, 10_000)'], {
    stdio: 'ignore',
  });
  try {
    await sleep(2000);
    return sampleProc(child.pid!).rssKb;
  } finally {
    child.kill();
  }
}

/** Polls `read` until it stops changing for a second (or `maxMs`); returns the value and time taken. */
async function settle(read: () => number, maxMs: number): Promise<{ value: number; ms: number }> {
  const started = Date.now();
  let last = read();
  let stableSince = Date.now();
  while (Date.now() - started < maxMs && Date.now() - stableSince < 1000) {
    await sleep(200);
    const v = read();
    if (v !== last) {
      last = v;
      stableSince = Date.now();
    }
  }
  return { value: last, ms: Date.now() - started };
}
