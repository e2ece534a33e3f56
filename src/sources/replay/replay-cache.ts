import { ReplayCache as ExpiringKeys } from '../../core/knock-token.js';

/**
 * Remembers one-time things (HMAC nonces, TOTP steps, SPA packets) so each is accepted once.
 * `use` may answer asynchronously, so a shared cache (Redis `SET key 1 NX PX ttl`) fits the
 * same contract; the local ones answer at once. Callers always `await` the answer.
 */
export interface ReplayCache {
  /**
   * Marks `key` used for `ttlMs`. True for the first use, false while the key is remembered
   * (a replay). Rejects when the use can't be recorded durably: callers then refuse.
   */
  use(key: string, ttlMs: number): boolean | Promise<boolean>;
  close(): void | Promise<void>;
}

/** The in-process cache: forgets everything at exit (tests, the bench, daemonless tools). */
export class MemoryReplayCache implements ReplayCache {
  private readonly keys: ExpiringKeys;

  constructor(
    maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {
    this.keys = new ExpiringKeys(maxEntries);
  }

  use(key: string, ttlMs: number): boolean {
    const now = this.now();
    return this.keys.use(key, now, now + ttlMs);
  }

  close(): void {}
}
