import type { Clock, LogFn } from '../core/contracts.js';
import type { FleetSettings } from '../core/fleet-settings.js';
import type { FleetClock } from './fleet-clock.js';
import type { FleetKeys } from './redis-keys.js';

/** What every part of a fleet node shares: who it is, the key, the Redis key names, the clock, the log. */
export interface FleetContext {
  readonly settings: FleetSettings;
  /** The fleet key (the same on every node). */
  readonly key: Uint8Array;
  readonly keys: FleetKeys;
  readonly clock: FleetClock;
  readonly localNow: Clock;
  readonly log: LogFn;
}

/** Reads Redis's `TIME` into the fleet clock (the call's midpoint is taken as the reading). */
export async function syncClock(ctx: FleetContext, c: { time(): Promise<unknown[]> }): Promise<void> {
  const sent = ctx.localNow();
  const reply = await c.time();
  const before = ctx.clock.beyondBound;
  ctx.clock.record(reply.map(String), sent, ctx.localNow());
  if (ctx.clock.beyondBound && !before)
    ctx.log('error', 'fleet-clock-offset', {
      offset_ms: ctx.clock.offset,
      max_ms: ctx.clock.maxOffsetMs,
      reason:
        "redis's TIME is further from this node's clock than clock_offset_max: every fleet message is refused until it is back within (check both clocks, and what is between this node and redis)",
    });
  else if (before && !ctx.clock.beyondBound)
    ctx.log('info', 'fleet-clock-offset', {
      offset_ms: ctx.clock.offset,
      max_ms: ctx.clock.maxOffsetMs,
      state: 'within',
    });
}
