/**
 * Knock attempts per client: a token bucket of `attempts` refilled over `perMs`. IPv6 clients
 * are counted per /64 (one host usually holds a whole /64). Bounded: past `maxClients`
 * the least recently seen client is forgotten. Pure: time is passed in.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly attempts: number,
    private readonly perMs: number,
    private readonly maxClients = 65_536,
  ) {}

  /** Takes one attempt for `address`; false when it has none left. */
  take(address: string, nowMs: number): boolean {
    const key = clientKey(address);
    const b = this.buckets.get(key) ?? { tokens: this.attempts, at: nowMs };
    const refill = ((nowMs - b.at) / this.perMs) * this.attempts;
    const tokens = Math.min(this.attempts, b.tokens + Math.max(0, refill));
    this.buckets.delete(key);
    if (this.buckets.size >= this.maxClients) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    const ok = tokens >= 1;
    this.buckets.set(key, { tokens: ok ? tokens - 1 : tokens, at: nowMs });
    return ok;
  }

  /** Seconds until `address` has an attempt again (for Retry-After). */
  retryAfterS(address: string, nowMs: number): number {
    const b = this.buckets.get(clientKey(address));
    if (!b) return 0;
    const missing = 1 - b.tokens;
    return Math.max(1, Math.ceil((missing * this.perMs) / this.attempts / 1000 - (nowMs - b.at) / 1000));
  }
}

/** 2001:db8:1:2:aaaa::1 -> 2001:db8:1:2::/64; v4 addresses as they are. */
export function clientKey(address: string): string {
  if (!address.includes(':')) return address;
  const [head, tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, '').toLowerCase())
    .join(':')}::/64`;
}
