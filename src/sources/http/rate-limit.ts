/**
 * Knock attempts per client and in total: token buckets of `attempts` refilled over `perMs`.
 * An IPv6 client is counted per /64 (one host usually holds a whole /64), and also per /56
 * and /48 (4 and 16 times the budget), so a site rotating through its prefixes doesn't get a
 * fresh budget per /64. A global bucket (`globalPerS`, twice that as burst) bounds all clients
 * together, whatever addresses they claim. Bounded: past `maxClients` tracked prefixes, a
 * prefix whose bucket has refilled completely is forgotten (nothing is lost); when none has,
 * new prefixes share one overflow bucket, so churning through addresses never hands a
 * throttled one its budget back. Pure: time is passed in.
 */
interface Bucket {
  tokens: number;
  at: number;
  readonly size: number;
}

const GLOBAL = 'global';

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly global: Bucket | null;
  private readonly overflow: Bucket;

  constructor(
    private readonly attempts: number,
    private readonly perMs: number,
    /** `globalPerS: null`: no global bucket, clients are only counted against their own. */
    private readonly opts: { maxClients?: number; globalPerS?: number | null } = {},
  ) {
    const globalPerS = opts.globalPerS === undefined ? 100 : opts.globalPerS;
    this.global = globalPerS === null ? null : { tokens: 2 * globalPerS, at: 0, size: 2 * globalPerS };
    this.overflow = { tokens: attempts, at: 0, size: attempts };
  }

  /**
   * Takes `cost` attempts for `address` (and the global budget); false, taking nothing, when
   * one of them has fewer left.
   */
  take(address: string, nowMs: number, cost = 1): boolean {
    const buckets = [
      ...(this.global ? [this.global] : []),
      ...clientKeys(address).map(([key, times]) => this.bucket(key, times, nowMs)),
    ];
    for (const b of buckets) this.refill(b, nowMs);
    if (buckets.some((b) => b.tokens < cost)) return false;
    for (const b of buckets) b.tokens -= cost;
    return true;
  }

  /** Seconds until `address` has an attempt again (for Retry-After). */
  retryAfterS(address: string, nowMs: number): number {
    let waitMs = 0;
    const keys = clientKeys(address).map(([key]) => [key, this.buckets.get(key) ?? this.overflow] as const);
    for (const [, b] of [...(this.global ? [[GLOBAL, this.global] as const] : []), ...keys]) {
      this.refill(b, nowMs);
      if (b.tokens < 1) waitMs = Math.max(waitMs, ((1 - b.tokens) * this.periodMs(b)) / b.size);
    }
    return Math.max(1, Math.ceil(waitMs / 1000));
  }

  /** Prefixes tracked, for tests. */
  get tracked(): number {
    return this.buckets.size;
  }

  private bucket(key: string, times: number, nowMs: number): Bucket {
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key); // re-insert: the map's order is least recently used first
      this.buckets.set(key, b);
      return b;
    }
    if (this.buckets.size >= (this.opts.maxClients ?? 65_536)) {
      const [oldestKey, oldest] = this.buckets.entries().next().value as [string, Bucket];
      this.refill(oldest, nowMs);
      if (oldest.tokens < oldest.size) return this.overflow; // nothing forgettable: share one budget
      this.buckets.delete(oldestKey);
    }
    b = { tokens: this.attempts * times, at: nowMs, size: this.attempts * times };
    this.buckets.set(key, b);
    return b;
  }

  /** Time a bucket takes to refill completely: the global burst in 2 s, a client's in `perMs`. */
  private periodMs(b: Bucket): number {
    return b === this.global ? 2000 : this.perMs;
  }

  private refill(b: Bucket, nowMs: number): void {
    const elapsed = Math.max(0, nowMs - b.at);
    b.tokens = Math.min(b.size, b.tokens + (elapsed / this.periodMs(b)) * b.size);
    b.at = nowMs;
  }
}

/** The keys an address is counted under, with their budget multiple: v4 as it is; v6 per /64, /56, /48. */
export function clientKeys(address: string): [string, number][] {
  if (!address.includes(':')) return [[address, 1]];
  const groups = expandV6(address);
  return [
    [`${prefix(groups, 64)}/64`, 1],
    [`${prefix(groups, 56)}/56`, 4],
    [`${prefix(groups, 48)}/48`, 16],
  ];
}

/** 2001:db8:1:2:aaaa::1 -> 2001:db8:1:2::/64; v4 addresses as they are. */
export function clientKey(address: string): string {
  return clientKeys(address)[0][0];
}

function expandV6(address: string): number[] {
  const [head, tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return groups.slice(0, 8).map((g) => parseInt(g, 16) || 0);
}

function prefix(groups: number[], bits: number): string {
  const out = groups.slice(0, Math.ceil(bits / 16));
  if (bits % 16) out[out.length - 1] &= 0xffff << (16 - (bits % 16));
  return `${out.map((g) => g.toString(16)).join(':')}::`;
}
