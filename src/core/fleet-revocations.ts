/**
 * Revocations a fleet node knows of, by door and address: when each was made (`revokedAt`,
 * fleet clock) and until when it matters (`until`: the end of the longest grant it could have
 * ended). A grant message issued at or before a revocation of its door and address is dead,
 * however it reaches the node again (a stream entry copied back with `XADD`, a catch-up after a
 * restart). Bounded like the seen ids; pure: time is passed in.
 */
export interface Revocation {
  readonly revokedAt: number;
  readonly until: number;
  /** The node that revoked. */
  readonly origin: string;
}

export class FleetRevocations {
  private readonly book = new Map<string, Revocation>();

  constructor(private readonly maxEntries = 200_000) {}

  /** Records a revocation; an older one for the same door and address gives way to a newer one. */
  record(door: string, address: string, revokedAt: number, until: number, origin: string): void {
    const key = keyOf(door, address);
    const had = this.book.get(key);
    if (had && had.revokedAt >= revokedAt) return;
    if (!had && this.book.size >= this.maxEntries) this.evictOldest();
    this.book.set(key, { revokedAt, until: Math.max(until, had?.until ?? 0), origin });
  }

  /** The revocation of `door` for `address` a grant issued at `issuedAt` falls under, if any. */
  covering(door: string, address: string, issuedAt: number, nowMs: number): Revocation | null {
    const r = this.book.get(keyOf(door, address));
    return r && r.until > nowMs && issuedAt <= r.revokedAt ? r : null;
  }

  /** The live revocation of `door` for `address`, if any. */
  get(door: string, address: string, nowMs: number): Revocation | null {
    const r = this.book.get(keyOf(door, address));
    return r && r.until > nowMs ? r : null;
  }

  /** Forgets revocations that no longer matter (every grant they could end is over). */
  prune(nowMs: number): void {
    for (const [k, r] of this.book) if (r.until <= nowMs) this.book.delete(k);
  }

  private evictOldest(): void {
    const oldest = [...this.book.entries()].reduce((a, b) => (b[1].until < a[1].until ? b : a));
    this.book.delete(oldest[0]);
  }

  get size(): number {
    return this.book.size;
  }
}

const keyOf = (door: string, address: string) => `${door} ${address}`;
