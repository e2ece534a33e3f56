import type { Clock } from '../core/contracts.js';
/**
 * The fleet clock: Redis's own (`TIME`). Each node measures its offset to it when it connects
 * and with every heartbeat, and writes every message time on that clock. A receiver compares
 * with its own reading of the same clock, so two nodes whose system clocks disagree by an hour
 * still agree on when a grant ends (to within the round trips). Before a node has ever reached
 * Redis the offset is 0; nothing is published before then anyway (the outbox keeps local times).
 */
export class FleetClock {
  private offsetMs = 0;
  private measured = false;

  constructor(
    private readonly localNow: Clock = Date.now,
    /** The largest offset to Redis's clock taken as honest (see `beyondBound`). */
    readonly maxOffsetMs = Number.POSITIVE_INFINITY,
  ) {}

  /**
   * The last reading is further from this node's clock than the bound: someone on the path may
   * be shifting `TIME` (or a clock is badly wrong). The node then refuses every fleet message.
   */
  get beyondBound(): boolean {
    return this.measured && Math.abs(this.offsetMs) > this.maxOffsetMs;
  }

  /** Fleet-clock now. */
  now(): number {
    return this.localNow() + this.offsetMs;
  }

  /** Converts a local-clock time to the fleet clock. */
  fromLocal(localMs: number): number {
    return localMs + this.offsetMs;
  }

  /** Converts a fleet-clock time to the local clock. */
  toLocal(fleetMs: number): number {
    return fleetMs - this.offsetMs;
  }

  get offset(): number {
    return this.offsetMs;
  }

  get synced(): boolean {
    return this.measured;
  }

  /**
   * Records one `TIME` reading: `reply` is Redis's `[seconds, microseconds]`, `sentAt` and
   * `receivedAt` the local times around the call; the reading is taken as the midpoint.
   */
  record(reply: readonly [string, string] | readonly string[], sentAt: number, receivedAt: number): void {
    const redisMs = Number(reply[0]) * 1000 + Math.floor(Number(reply[1]) / 1000);
    if (!Number.isFinite(redisMs)) return;
    this.offsetMs = Math.round(redisMs - (sentAt + receivedAt) / 2);
    this.measured = true;
  }
}
