import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * HMAC knock tokens: `s1.<door>.<unix seconds>.<nonce>.<signature>`, the signature being
 * HMAC-SHA256 over (door, time, nonce) with the door's shared secret. A token is good for
 * `HMAC_MAX_SKEW_MS` around its time and, thanks to the nonce and the ReplayCache, only once.
 * Made by `sesame token` / `sesame knock --http`; pure apart from the random nonce.
 */

export const HMAC_MAX_SKEW_MS = 30_000;
const VERSION = 's1';
const SHAPE = /^s1\.([A-Za-z][A-Za-z0-9_-]{0,23})\.(\d{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export interface HmacToken {
  readonly door: string;
  readonly timeMs: number;
  readonly nonce: string;
  readonly signature: string;
}

function sign(key: Uint8Array, door: string, seconds: number, nonce: string): Buffer {
  // a fixed label keeps these MACs apart from anything else the same key might sign
  return createHmac('sha256', key).update(`sesame-knock\n${VERSION}\n${door}\n${seconds}\n${nonce}`).digest();
}

/** A fresh token for `door` at `nowMs`. `nonce` is for tests; by default 16 random bytes. */
export function makeHmacToken(
  key: Uint8Array,
  door: string,
  nowMs: number,
  nonce = randomBytes(16).toString('base64url'),
): string {
  const seconds = Math.floor(nowMs / 1000);
  return `${VERSION}.${door}.${seconds}.${nonce}.${sign(key, door, seconds, nonce).toString('base64url')}`;
}

/** True when `text` has the shape of an HMAC token (says nothing about its validity). */
export const looksLikeHmacToken = (text: string) => text.startsWith(`${VERSION}.`);

/** Splits a token into its fields, or null when it is malformed. */
export function parseHmacToken(text: string): HmacToken | null {
  const m = SHAPE.exec(text);
  if (!m) return null;
  return { door: m[1], timeMs: Number(m[2]) * 1000, nonce: m[3], signature: m[4] };
}

/**
 * Checks signature, door and age (constant-time signature compare). Returns the parsed token
 * when good, else null. Whether the nonce was seen before is the ReplayCache's job.
 */
export function verifyHmacToken(key: Uint8Array, text: string, door: string, nowMs: number): HmacToken | null {
  const t = parseHmacToken(text);
  // compute a MAC even for malformed input, so the failure path costs the same
  const expected = sign(key, door, t ? t.timeMs / 1000 : 0, t?.nonce ?? '');
  const given = t ? Buffer.from(t.signature, 'base64url') : Buffer.alloc(expected.length);
  const sigOk = given.length === expected.length && timingSafeEqual(given, expected);
  if (!t || !sigOk || t.door !== door) return null;
  if (Math.abs(nowMs - t.timeMs) > HMAC_MAX_SKEW_MS) return null;
  return t;
}

/** Snapshot of a ReplayCache, to keep it across daemon restarts. */
export interface ReplaySnapshot {
  /** [key, expires epoch ms] */
  readonly used: readonly (readonly [string, number])[];
}

/**
 * Remembers used tokens (TOTP steps per door, HMAC nonces) until they could no longer be
 * accepted anyway, so each one opens at most once. Bounded: when full, the entries that
 * expire first are dropped (they are the ones closest to being refused by age anyway).
 */
export class ReplayCache {
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

/** Cache keys: a TOTP step of a door, and an HMAC nonce of a door. */
export const totpKey = (door: string, counter: number) => `totp ${door} ${counter}`;
export const nonceKey = (door: string, nonce: string) => `hmac ${door} ${nonce}`;
