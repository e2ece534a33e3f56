import type { BenchContext, BenchResult } from '../result.js';
import { benchWebKnock } from '../web-knock.js';

/**
 * The web-knock figures. Imported statically: a broken bench/web-knock.ts fails the build or
 * the run, where the old optional import reported it as "skipped" and exited 0.
 */
export async function webKnock(ctx: BenchContext): Promise<BenchResult[]> {
  ctx.log('web-knock');
  return (await benchWebKnock({ quick: ctx.quick })).map((o) => {
    const r = o as Partial<BenchResult>;
    return r.scenario && r.figures
      ? (r as BenchResult)
      : { scenario: 'web-knock', tool: 'sesame', figures: o as Record<string, unknown> };
  });
}
