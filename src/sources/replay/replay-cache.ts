import type { Clock, ReplayCache } from '../../core/contracts.js';
import { ExpiringKeys } from '../../core/expiring-keys.js';

/** The in-process cache: forgets everything at exit (tests, the bench, daemonless tools). */
export class MemoryReplayCache implements ReplayCache {
  private readonly keys: ExpiringKeys;

  constructor(
    maxEntries = 100_000,
    private readonly now: Clock = Date.now,
  ) {
    this.keys = new ExpiringKeys(maxEntries);
  }

  use(key: string, ttlMs: number): boolean {
    const now = this.now();
    return this.keys.use(key, now, now + ttlMs);
  }

  close(): void {}
}
