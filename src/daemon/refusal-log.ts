import type { Clock } from '../core/contracts.js';
import type { RefusalEvent } from '../sources/door-source.js';

/**
 * The one log every refusal of every door kind goes through (a bad code, a replayed token, a
 * rate limit, a forged SPA packet): each kind of refusal (log event and reason) gets at most
 * `burst` lines per `windowMs`; past that it is counted, and one summary line per kind says
 * how many were not logged. One client can't fill the journal (whose rate limit would then
 * drop the real `open` lines) and a flood still leaves a trace of its size.
 */

export interface RefusalLogOptions {
  readonly burst?: number;
  readonly windowMs?: number;
  readonly now?: Clock;
}

type Log = (event: string, fields: Record<string, unknown>) => void;

interface Kind {
  readonly event: string;
  readonly reason: string;
  logged: number;
  suppressed: number;
}

export class RefusalLog {
  private readonly burst: number;
  private readonly windowMs: number;
  private readonly now: Clock;
  private windowStart = 0;
  private kinds = new Map<string, Kind>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: Log,
    opts: RefusalLogOptions = {},
  ) {
    this.burst = opts.burst ?? 20;
    this.windowMs = opts.windowMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  refused(e: RefusalEvent): void {
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) this.flush(now);
    const event = e.event ?? `${e.source}-refused`;
    const key = `${event}\0${e.reason}`;
    let kind = this.kinds.get(key);
    if (!kind) this.kinds.set(key, (kind = { event, reason: e.reason, logged: 0, suppressed: 0 }));
    if (kind.logged < this.burst) {
      kind.logged++;
      this.log(event, {
        ...(e.door !== undefined ? { door: e.door } : {}),
        ...(e.address !== undefined ? { address: e.address } : {}),
        reason: e.reason,
        ...e.fields,
      });
      return;
    }
    kind.suppressed++;
    // a flood that stops still gets its summary
    this.timer ??= setTimeout(() => this.flush(this.now()), this.windowMs).unref();
  }

  /** Writes what the last window did not log, one line per kind, and starts a new window. */
  flush(now = this.now()): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const k of this.kinds.values())
      if (k.suppressed > 0)
        this.log(`${k.event}-suppressed`, {
          reason: k.reason,
          count: k.suppressed,
          window_s: Math.round((now - this.windowStart) / 1000),
        });
    this.kinds = new Map();
    this.windowStart = now;
  }

  stop(): void {
    this.flush();
  }
}
