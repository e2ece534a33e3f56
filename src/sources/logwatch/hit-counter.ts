/**
 * fail2ban's maxretry/findtime: an address is granted when it has `maxRetry` matching lines
 * within `findTimeMs`; its count then starts over. Pure: time is passed in. Bounded, so a
 * flood of distinct addresses in the log can't grow memory without limit.
 */
export class HitCounter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly maxRetry: number,
    private readonly findTimeMs: number,
    private readonly maxAddresses = 65_536,
  ) {}

  /** Records a hit; true when this one reaches `maxRetry`. */
  hit(address: string, nowMs: number): boolean {
    if (this.maxRetry <= 1) return true;
    const recent = (this.hits.get(address) ?? []).filter((t) => nowMs - t < this.findTimeMs);
    recent.push(nowMs);
    this.hits.delete(address); // re-insert: Map order is then least recently hit first
    if (recent.length >= this.maxRetry) return true;
    if (this.hits.size >= this.maxAddresses) {
      const oldest = this.hits.keys().next().value;
      if (oldest !== undefined) this.hits.delete(oldest);
    }
    this.hits.set(address, recent);
    return false;
  }

  /** Addresses with hits still counting (for tests and metrics). */
  get size(): number {
    return this.hits.size;
  }
}
