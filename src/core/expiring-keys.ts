/**
 * Keys remembered until a given time: the memory behind every replay cache (core/contracts.ts
 * ReplayCache), which adds the clock and the journal. Pure: the time comes in as a parameter.
 */

/** Snapshot of an ExpiringKeys, to keep it across daemon restarts. */
export interface ReplaySnapshot {
  /** [key, expires epoch ms] */
  readonly used: readonly (readonly [string, number])[];
}

/**
 * Remembers used tokens (TOTP steps per door, HMAC nonces) until they could no longer be
 * accepted anyway, so each one opens at most once. Bounded: when full, the entries that
 * expire first are dropped (they are the ones closest to being refused by age anyway).
 */
export class ExpiringKeys {
  private readonly used = new Map<string, number>();

  constructor(
    private readonly maxEntries = 100_000,
    snapshot?: ReplaySnapshot,
  ) {
    for (const [k, exp] of snapshot?.used ?? []) this.used.set(k, exp);
  }

  /** Marks `key` used until `expiresMs`. False when it was already used (a replay). */
  use(key: string, nowMs: number, expiresMs: number): boolean {
    const exp = this.used.get(key);
    if (exp !== undefined && exp > nowMs) return false;
    if (this.used.size >= this.maxEntries) this.prune(nowMs);
    if (this.used.size >= this.maxEntries) this.dropOldest();
    this.used.set(key, expiresMs);
    return true;
  }

  prune(nowMs: number): void {
    for (const [k, exp] of this.used) if (exp <= nowMs) this.used.delete(k);
  }

  get size(): number {
    return this.used.size;
  }

  snapshot(nowMs: number): ReplaySnapshot {
    this.prune(nowMs);
    return { used: [...this.used.entries()] };
  }

  private dropOldest(): void {
    let oldest: string | undefined;
    let min = Number.POSITIVE_INFINITY;
    for (const [k, exp] of this.used) {
      if (exp < min) {
        min = exp;
        oldest = k;
      }
    }
    if (oldest !== undefined) this.used.delete(oldest);
  }
}
