import type { BenchContext, BenchResult } from '../result.js';
import { benchWebKnock } from '../web-knock.js';

/**
 * The web-knock figures: sesame's endpoint, sesame's log door and fail2ban's reverse ban on
 * the same nginx log, in one lab. Imported statically: a broken bench/web-knock.ts fails the
 * build or the run, where the old optional import reported it as "skipped" and exited 0.
 */
export async function webKnock(ctx: BenchContext): Promise<BenchResult[]> {
  ctx.log('web-knock');
  return benchWebKnock({ quick: ctx.quick, log: ctx.log });
}
