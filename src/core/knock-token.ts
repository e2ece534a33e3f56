import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DOOR_NAME_PATTERN } from './door-name.js';

/**
 * HMAC knock tokens: `s1.<door>.<unix seconds>.<nonce>.<signature>`, the signature being
 * HMAC-SHA256 over (door, time, nonce) with the door's shared secret. A token is good for
 * `HMAC_MAX_SKEW_MS` around its time and, thanks to the nonce and the replay cache, only once.
 * Made by `sesame token` / `sesame knock --http`; pure apart from the random nonce.
 */

export const HMAC_MAX_SKEW_MS = 30_000;
const VERSION = 's1';
const SHAPE = new RegExp(`^s1\\.(${DOOR_NAME_PATTERN})\\.(\\d{1,12})\\.([A-Za-z0-9_-]{22})\\.([A-Za-z0-9_-]{43})$`);

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
 * when good, else null. Whether the nonce was seen before is the replay cache's job.
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

/** Cache keys: a TOTP step of a door, and an HMAC nonce of a door. */
export const totpKey = (door: string, counter: number) => `totp ${door} ${counter}`;
export const nonceKey = (door: string, nonce: string) => `hmac ${door} ${nonce}`;
