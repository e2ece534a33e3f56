import { SPOOF_BLOCKS, withBenchLab } from '../bench-lab.js';
import type { Try } from '../knock-client.js';
import { clientJob, flood } from '../lab-jobs.js';
import { cpuBetween, sampleProc } from '../proc-stats.js';
import type { BenchContext, BenchResult } from '../result.js';
import { latencySummary, share } from '../stats.js';
import { DOOR } from '../tools.js';
import { FIRST_SYN_MS } from './knock-to-open.js';

const NOISE_SOURCES = 1000;
const NOISE_PPS = 10_000;

/**
 * Noise: 1,000 spoofed addresses send SYNs to the first three knock ports (so they never
 * complete a knock) at a fixed rate while a legitimate client knocks and connects, its tries
 * spread evenly over the flood. Reports the client's success and the daemon's CPU and RSS.
 */
export async function noise(ctx: BenchContext): Promise<BenchResult[]> {
  const seconds = ctx.quick ? 3 : 10;
  const tries = ctx.quick ? 10 : 50;
  const out: BenchResult[] = [];
  for (const tool of ctx.tools) {
    ctx.log(
      `noise: ${tool}, ${NOISE_PPS} pps from ${NOISE_SOURCES} spoofed addresses for ${seconds} s, ${tries} knocks`,
    );
    out.push(
      await withBenchLab(tool, { clientAddresses: tries }, async (b) => {
        const before = sampleProc(b.tool.pid);
        const [sent, legit] = await Promise.all([
          flood(b.lab, b.flooder, {
            target: b.target,
            ports: DOOR.knock.slice(0, 3),
            blocks: [SPOOF_BLOCKS[0].first],
            sources: NOISE_SOURCES,
            count: NOISE_PPS * seconds,
            rate: NOISE_PPS,
            maxSeconds: seconds + 5,
          }),
          // first try a little after the flood starts, last one just before it ends
          clientJob<{ tries: Try[] }>(b.lab, b.client, {
            mode: 'tries',
            target: b.target,
            knock: [...DOOR.knock],
            port: DOOR.open,
            from: b.addresses(tries),
            spacingMs: Math.floor((seconds * 1000) / tries),
            timeoutMs: 3500,
          }),
        ]);
        const after = sampleProc(b.tool.pid);
        const opened = legit.tries.filter((t) => t.result === 'open').map((t) => t.ms);
        return {
          scenario: 'noise',
          tool,
          figures: {
            flood_sources: NOISE_SOURCES,
            flood_sent: sent.sent,
            flood_pps: sent.pps,
            tries,
            opened: opened.length,
            success_pct: share(opened.length, tries),
            first_syn_pct: share(opened.filter((ms) => ms < FIRST_SYN_MS).length, tries),
            ...latencySummary(opened),
            ...cpuBetween(before, after),
            rss_kb: after.rssKb,
          },
          notes: [
            ...b.tool.notes,
            'cpu_s = daemon utime+stime over the flood; child_cpu_s = its reaped commands; kernel (softirq) work is not attributed to either',
          ],
        };
      }),
    );
  }
  return out;
}
