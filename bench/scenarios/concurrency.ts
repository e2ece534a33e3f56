import { withBenchLab } from '../bench-lab.js';
import { clientJob } from '../lab-jobs.js';
import type { BenchContext, BenchResult } from '../result.js';
import { round } from '../stats.js';
import { DOOR } from '../tools.js';

/** Why knockd loses concurrent knocks (read in jvinet/knock src/knockd.c, sniff()). */
const KNOCKD_LIST_BUG =
  'knockd 0.8 sniff(): removing a finished attempt that heads the list sets `attempts = NULL`, so every other knock in progress is forgotten once the oldest one completes';

interface Burst {
  knockedMs: number;
  lastOpenMs: number;
  knockers: { from: string; result: string }[];
  bystanders: { from: string; result: string }[];
}

/**
 * Concurrency: 256 addresses of one client namespace knock at the same moment, then each
 * connects; 32 addresses of the same namespace that never knocked connect too and must
 * stay closed (cross-talk).
 */
export async function concurrency(ctx: BenchContext): Promise<BenchResult[]> {
  const knockers = 256;
  const bystanders = 32;
  const out: BenchResult[] = [];
  for (const tool of ctx.tools) {
    ctx.log(`concurrency: ${tool}, ${knockers} addresses at once`);
    out.push(
      await withBenchLab(tool, { clientAddresses: knockers + bystanders }, async (b) => {
        const r = await clientJob<Burst>(b.lab, b.client, {
          mode: 'burst',
          target: b.target,
          knock: [...DOOR.knock],
          port: DOOR.open,
          knockers: b.addresses(knockers),
          bystanders: b.addresses(bystanders),
          // knockd's late opens take TCP's 1 s retry; --quick stops waiting sooner
          timeoutMs: ctx.quick ? 4_000 : 10_000,
        });
        const opened = r.knockers.filter((k) => k.result === 'open').length;
        return {
          scenario: 'concurrency',
          tool,
          figures: {
            knockers,
            opened,
            bystanders,
            cross_talk: r.bystanders.filter((k) => k.result === 'open').length,
            knocks_sent_ms: round(r.knockedMs, 1),
            wall_ms: round(r.lastOpenMs, 1),
          },
          notes: [
            ...b.tool.notes,
            `wall = first knock sent to last knocker established; connects time out after ${ctx.quick ? 4 : 10} s`,
            ...(tool === 'knockd' && opened < knockers ? [KNOCKD_LIST_BUG] : []),
          ],
        };
      }),
    );
  }
  return out;
}
