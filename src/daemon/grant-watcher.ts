import { GrantBook, type WatchedGrant } from '../core/grant-book.js';
import type { Grant } from '../firewall/nftables.js';
import type { GrantStore } from './grant-store.js';
import type { Clock, Logger } from '../core/contracts.js';

export interface WatcherDeps {
  /** The kernel's grants of these doors; throws when the kernel can't be asked. */
  readonly list: (doors: readonly string[]) => Promise<readonly Grant[]>;
  readonly store: GrantStore;
  readonly logger: Logger;
  readonly now: Clock;
  /** A grant the kernel no longer holds: log it, run its stop, then `store.closed(g)`. */
  readonly expired: (g: WatchedGrant) => void;
}

/**
 * Watches every grant the daemon knows of until the kernel says it has ended. The book says
 * when to look (the end time as last learned); only the kernel says whether it ended (a
 * re-knock extends it). When the kernel can't be asked, nothing is taken as ended: the grants
 * stay due and are asked about again on the next tick.
 */
export class GrantWatcher {
  private book = new GrantBook();
  private ticker?: NodeJS.Timeout;
  private checking = false;

  constructor(private readonly deps: WatcherDeps) {}

  /** Starts from the pending grants read from the store. */
  load(pending: readonly WatchedGrant[]): void {
    this.book = new GrantBook(pending);
  }

  /** A grant found in the kernel at start that the store didn't know (no stop command). */
  adopt(g: Grant): void {
    if (!this.book.get(g.door, g.address))
      this.book.open({ door: g.door, family: g.family, address: g.address, until: this.deps.now() + g.expiresMs });
  }

  /** Records or extends a grant; true when it is new. A grant with a stop command is made durable first. */
  open(g: WatchedGrant): boolean {
    const before = this.book.get(g.door, g.address);
    this.book.open(g);
    if (g.stop !== undefined && before?.stop !== g.stop) this.deps.store.opened(g);
    else if (g.stop !== undefined) this.deps.store.renewed(g);
    return !before;
  }

  /** Forgets a grant (closed by a knock, revoked, flushed); the caller runs its stop. */
  close(door: string, address: string): WatchedGrant | undefined {
    return this.book.close(door, address);
  }

  list(): WatchedGrant[] {
    return this.book.list();
  }

  start(everyMs = 250): void {
    this.ticker = setInterval(() => void this.check(), everyMs);
  }

  stop(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  /** Asks the kernel about the grants whose time is up. */
  async check(): Promise<void> {
    if (this.checking) return;
    const due = this.book.due(this.deps.now());
    if (due.length === 0) return;
    this.checking = true;
    try {
      const live = await this.deps.list([...new Set(due.map((g) => g.door))]);
      const byKey = new Map(live.map((l) => [`${l.door} ${l.address}`, l]));
      for (const g of due) {
        const still = byKey.get(`${g.door} ${g.address}`);
        if (still && still.expiresMs > 0) {
          const next = { ...g, until: this.deps.now() + still.expiresMs };
          this.book.open(next);
          if (g.stop !== undefined) this.deps.store.renewed(next);
        } else if (this.book.get(g.door, g.address) === g) {
          this.book.close(g.door, g.address);
          this.deps.expired(g);
        }
      }
    } catch (err) {
      // never "no grants": a failed listing ends nothing, and no stop command runs early
      this.deps.logger.log('warn', 'grant-check-failed', { reason: String((err as Error).message) });
    } finally {
      this.checking = false;
    }
  }
}
