import type { Clock, LogFn } from '../core/contracts.js';

const LOG_PER_WINDOW = 20;
const WINDOW_MS = 10_000;

/**
 * Messages and heartbeats refused on arrival (bad signature, wrong cluster, too old...):
 * counted, and logged as `fleet-dropped`; a flood of them is summarised instead of flooding
 * the log (at most 20 lines per 10 s, then one "more of the above" line with the count).
 */
export class FleetDrops {
  count = 0;
  private window = { start: 0, logged: 0, suppressed: 0 };

  constructor(
    private readonly log: LogFn,
    private readonly localNow: Clock,
  ) {}

  dropped(reason: string, detail?: string, about: Record<string, string> = {}): void {
    this.count++;
    const now = this.localNow();
    if (now - this.window.start > WINDOW_MS) {
      if (this.window.suppressed > 0)
        this.log('warn', 'fleet-dropped', { reason: 'more of the above', suppressed: this.window.suppressed });
      this.window = { start: now, logged: 0, suppressed: 0 };
    }
    if (this.window.logged++ < LOG_PER_WINDOW) this.log('warn', 'fleet-dropped', { reason, detail, ...about });
    else this.window.suppressed++;
  }
}
