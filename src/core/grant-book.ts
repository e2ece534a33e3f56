import type { Family } from './door.js';

/** A grant the daemon watches until it ends, to log the end and run `run.stop`. */
export interface WatchedGrant {
  readonly door: string;
  readonly family: Family;
  readonly address: string;
  /** Epoch ms when the grant should end, per the last thing we learned. */
  readonly until: number;
  /**
   * The stop command to run when the grant ends, `%IP%` already expanded. Kept with the
   * grant (and so in the state file) so it runs even after a crash, a restart or a config edit.
   */
  readonly stop?: string;
}

const keyOf = (g: Pick<WatchedGrant, 'door' | 'address'>) => `${g.door} ${g.address}`;

/**
 * Who holds a grant until when, as far as the daemon knows. The kernel is the truth;
 * the book only says when to look again. Pure: time is passed in.
 */
export class GrantBook {
  private readonly grants = new Map<string, WatchedGrant>();

  constructor(initial: readonly WatchedGrant[] = []) {
    for (const g of initial) this.grants.set(keyOf(g), g);
  }

  /** Records or extends a grant. Returns true when it is new. */
  open(g: WatchedGrant): boolean {
    const had = this.grants.has(keyOf(g));
    this.grants.set(keyOf(g), g);
    return !had;
  }

  /** Forgets a grant; returns it when it was known. */
  close(door: string, address: string): WatchedGrant | undefined {
    const g = this.grants.get(keyOf({ door, address }));
    this.grants.delete(keyOf({ door, address }));
    return g;
  }

  get(door: string, address: string): WatchedGrant | undefined {
    return this.grants.get(keyOf({ door, address }));
  }

  /** Grants whose time is up at `now`: the caller asks the kernel whether they really ended. */
  due(now: number): WatchedGrant[] {
    return [...this.grants.values()].filter((g) => g.until <= now);
  }

  list(): WatchedGrant[] {
    return [...this.grants.values()];
  }
}
