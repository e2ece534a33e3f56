import { useOneTimeSequence } from '../config/one-time-file.js';
import type { Logger } from '../core/contracts.js';
import type { OneTimeDoor, Plan } from '../core/door.js';
import type { FirewallQueue } from './firewall-queue.js';

/** The firewall operations a swap uses (the daemon's firewall). */
export interface SwapFirewall {
  /** Replaces door `door`'s rules and knock state only, keeping every grant. */
  replaceDoor(before: Plan, after: Plan, door: string): Promise<void>;
  /** Loads the whole plan in one transaction, keeping running grants. */
  apply(plan: Plan): Promise<unknown>;
}

export interface OneTimeSwapDeps {
  /** The daemon's one queue of firewall changes: a swap never races a reload or a grant. */
  readonly changes: FirewallQueue;
  readonly firewall: SwapFirewall;
  readonly logger: Logger;
  /** The loaded plan, read inside the queue (a reload queued before may have replaced it). */
  readonly plan: () => Plan;
  /** Records the plan the swap loaded. */
  readonly loaded: (plan: Plan) => void;
}

/**
 * A one-time door's sequence was used: marks its line in the user's sequence file (as knockd
 * does, see one-time-file.ts) and swaps the next unused sequence into the kernel, or disables
 * the door when none is left.
 */
export class OneTimeSwap {
  constructor(private readonly deps: OneTimeSwapDeps) {}

  /** Queues the swap for door `name`, whose sequence on `line` (as logged by the kernel) opened. */
  used(name: string, line: number | undefined): void {
    const { logger } = this.deps;
    this.deps.changes
      .run('one-time swap', async () => {
        const before = this.deps.plan();
        const door = before.doors.find((d) => d.name === name);
        if (door?.kind !== 'one-time' || !door.knock) return;
        // a second knock of the same sequence before the swap landed: that line is already used
        if (line !== undefined && line !== door.line) return;
        let next: OneTimeDoor;
        let marked: number | null;
        try {
          ({ door: next, marked } = useOneTimeSequence(door));
        } catch (err) {
          logger.log('error', 'one-time-mark-failed', { door: name, file: door.file, reason: String(err) });
          return;
        }
        const plan: Plan = { ...before, doors: before.doors.map((d) => (d.name === name ? next : d)) };
        try {
          await this.swapDoor(before, plan, name);
          this.deps.loaded(plan);
        } catch (err) {
          logger.log('error', 'one-time-swap-failed', { door: name, reason: String(err) });
          return;
        }
        logger.log(next.knock ? 'info' : 'warn', next.knock ? 'one-time-next' : 'door-disabled', {
          door: name,
          file: door.file,
          used: marked ?? undefined,
          line: next.knock ? next.line : undefined,
          reason: next.knock ? undefined : 'no unused sequences left',
        });
      })
      .catch((err) => logger.log('warn', 'one-time-swap-skipped', { door: name, reason: String(err) }));
  }

  /**
   * Loads `plan`, which differs from `before` in door `name` only, by replacing that door's
   * part: other doors' knocks in progress and every grant stay. If that fails (the table was
   * changed behind sesame's back, say), the whole table is loaded as a reload would, which
   * resets every knock in progress but keeps the grants.
   */
  private async swapDoor(before: Plan, plan: Plan, name: string): Promise<void> {
    try {
      await this.deps.firewall.replaceDoor(before, plan, name);
    } catch (err) {
      this.deps.logger.log('warn', 'one-time-swap-whole-table', {
        door: name,
        reason: String(err),
        note: "replacing only the door's rules failed; loading the whole table resets other doors' knocks in progress",
      });
      await this.deps.firewall.apply(plan);
    }
  }
}
