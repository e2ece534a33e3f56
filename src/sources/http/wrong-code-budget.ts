import { addressPrefix } from '../../core/ip-address.js';
import { TotpFailureBudget } from './totp-budget.js';

/**
 * Who may still try a TOTP code for a door: the budget of wrong codes is kept per source
 * network (/24 for IPv4, /48 for IPv6 by default), so one address, or one network, that spends
 * its budget is throttled alone and a user elsewhere still gets in. A door-wide budget, three
 * times a network's, still bounds guessing from many networks at once: one network never
 * reaches it (3 wrong codes a step, then 1), so only an attacker with at least three networks
 * can lock everyone out, and then no faster than 3 guesses a step. Pure: steps are passed in.
 */
export class WrongCodeBudget {
  constructor(
    readonly prefixBits = { ipv4: 24, ipv6: 48 },
    readonly perSource = new TotpFailureBudget(3, 1, 10),
    readonly perDoor = new TotpFailureBudget(9, 3, 10),
  ) {}

  /** The network `address` is budgeted as. */
  source(address: string): string {
    return addressPrefix(address, this.prefixBits.ipv4, this.prefixBits.ipv6);
  }

  /** Whether a code from `address` for `door` may be checked in `step`. */
  allows(door: string, address: string, step: number): boolean {
    return this.perSource.allows(`${door} ${this.source(address)}`, step) && this.perDoor.allows(door, step);
  }

  /** Counts a wrong code from `address` for `door` in `step`. */
  fail(door: string, address: string, step: number): void {
    this.perSource.fail(`${door} ${this.source(address)}`, step);
    this.perDoor.fail(door, step);
  }

  /** Seconds until the next step, for Retry-After. */
  retryAfterS(nowMs: number, stepMs: number): number {
    return this.perDoor.retryAfterS(nowMs, stepMs);
  }
}
