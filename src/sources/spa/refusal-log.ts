import type { Clock } from '../../core/contracts.js';
/**
 * Logs each refused SPA packet once, with its reason, and stays quiet under a flood: at
 * most `burst` lines per `windowMs`; past that, refusals are counted by reason and one
 * summary line per window says how many were not logged. Clock and timer are injected.
 */

export interface RefusalLogOptions {
  readonly burst?: number;
  readonly windowMs?: number;
  readonly now?: Clock;
}

type Log = (event: string, fields: Record<string, unknown>) => void;

export class RefusalLog {
  private readonly burst: number;
  private readonly windowMs: number;
  private readonly now: Clock;
  private windowStart = 0;
  private logged = 0;
  private suppressed = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: Log,
    opts: RefusalLogOptions = {},
  ) {
    this.burst = opts.burst ?? 20;
    this.windowMs = opts.windowMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  refused(reason: string, fields: Record<string, unknown>): void {
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) this.flush(now);
    if (this.logged < this.burst) {
      this.logged++;
      this.log('spa-refused', { reason, ...fields });
      return;
    }
    this.suppressed.set(reason, (this.suppressed.get(reason) ?? 0) + 1);
    // a flood that stops still gets its summary
    this.timer ??= setTimeout(() => this.flush(this.now()), this.windowMs).unref();
  }

  /** Writes the summary of what the last window did not log, and starts a new window. */
  flush(now = this.now()): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.suppressed.size > 0) {
      const total = [...this.suppressed.values()].reduce((a, b) => a + b, 0);
      this.log('spa-refused-suppressed', { count: total, reasons: Object.fromEntries(this.suppressed) });
    }
    this.suppressed = new Map();
    this.windowStart = now;
    this.logged = 0;
  }

  stop(): void {
    this.flush();
  }
}
