import { withBenchLab } from '../bench-lab.js';
import type { Try } from '../knock-client.js';
import { clientJob } from '../lab-jobs.js';
import type { BenchContext, BenchResult } from '../result.js';
import { latencySummary, percentile, round, share } from '../stats.js';
import { DOOR, OPEN_PORT } from '../tools.js';

/** A first SYN dropped by the door is retransmitted after TCP's initial RTO of 1 s. */
export const FIRST_SYN_MS = 900;

/**
 * Knock-to-open: N tries, each from its own address, knock the 4 ports and connect to the
 * protected port at once. Latency is connect() to established; the floor is a connect to
 * an open port on the same server in the same lab (the veth round trip).
 */
export async function knockToOpen(ctx: BenchContext): Promise<BenchResult[]> {
  const n = ctx.quick ? 10 : 200;
  const out: BenchResult[] = [];
  for (const tool of ctx.tools) {
    ctx.log(`knock-to-open: ${tool}, ${n} tries`);
    out.push(
      await withBenchLab(tool, { clientAddresses: n + 1 }, async (b) => {
        const rtt = await clientJob<{ ms: number[] }>(b.lab, b.client, {
          mode: 'rtt',
          target: b.target,
          port: OPEN_PORT,
          n: Math.max(20, n / 2),
        });
        const all = await clientJob<{ tries: Try[] }>(b.lab, b.client, {
          mode: 'tries',
          target: b.target,
          knock: [...DOOR.knock],
          port: DOOR.open,
          from: b.addresses(n + 1),
          spacingMs: 0,
          timeoutMs: 3500,
        });
        const tries = all.tries.slice(1); // the first try warms up the client's code paths
        const opened = tries.filter((t) => t.result === 'open').map((t) => t.ms);
        const firstSyn = opened.filter((ms) => ms < FIRST_SYN_MS).length;
        const rttP50 = percentile(rtt.ms, 50);
        return {
          scenario: 'knock-to-open',
          tool,
          figures: {
            tries: n,
            opened: opened.length,
            first_syn_pct: share(firstSyn, n),
            ...latencySummary(opened),
            rtt_p50_ms: round(rttP50),
            rtt_p99_ms: round(percentile(rtt.ms, 99)),
            p99_minus_rtt_ms: round(percentile(opened, 99) - rttP50),
          },
          notes: [
            ...b.tool.notes,
            `latency = connect() right after the last knock left, to established; first SYN = established in < ${FIRST_SYN_MS} ms`,
          ],
          samples: opened.map((ms) => round(ms)),
        };
      }),
    );
  }
  return out;
}
