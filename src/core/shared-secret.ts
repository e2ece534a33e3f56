import { createHmac } from 'node:crypto';
import type { Door, Plan, SharedDoor } from './door.js';
import { HMAC_MAX_SKEW_MS, type HmacToken, makeHmacToken, verifyHmacToken } from './knock-token.js';

/**
 * What a shared-port knock puts in the first data bytes of its connection (pure).
 *  - static: the secret file's bytes, as they are (replayable by anyone who sees them);
 *  - token:  an 8-byte prefix derived from the door's HMAC key, then an `s1.` HMAC token
 *            (knock-token.ts) and a newline. The kernel matches the prefix and logs the packet;
 *            the daemon checks the token's signature, age and nonce.
 */

/** The kernel compares at most this many bytes; a longer static secret adds nothing but cost. */
export const MAX_STATIC_SECRET_BYTES = 64;
export const MIN_STATIC_SECRET_BYTES = 8;
export const TOKEN_PREFIX_BYTES = 8;
/** How far a token's time may be from the server's clock. */
export const TOKEN_MAX_SKEW_MS = HMAC_MAX_SKEW_MS;

/**
 * A static secret from a file's bytes: one trailing newline (what editors add) is dropped.
 * Returns an error text when it can't be used.
 */
export function parseStaticSecret(bytes: Uint8Array): Buffer | string {
  let secret = Buffer.from(bytes);
  if (secret.at(-1) === 0x0a) secret = secret.subarray(0, -1);
  if (secret.at(-1) === 0x0d) secret = secret.subarray(0, -1);
  if (secret.length < MIN_STATIC_SECRET_BYTES) {
    return `secret has ${secret.length} bytes, at least ${MIN_STATIC_SECRET_BYTES} are needed (e.g. \`head -c 24 /dev/urandom | base64 > FILE\`)`;
  }
  if (secret.length > MAX_STATIC_SECRET_BYTES) {
    return `secret has ${secret.length} bytes, at most ${MAX_STATIC_SECRET_BYTES} fit in the kernel match`;
  }
  // 0x16 starts every TLS record: a secret made of a ClientHello's fixed header bytes would
  // match every browser's first packet and send visitors to sshd
  if (secret[0] === 0x16) return 'secret must not start with byte 0x16 (a TLS handshake record starts so)';
  return secret;
}

/** The token variant's kernel match bytes: fixed per key, so scanners can't make the kernel log. */
export function tokenPrefix(key: Uint8Array): Buffer {
  const mac = createHmac('sha256', key).update('sesame shared-port token prefix').digest();
  // never 0x16 (TLS) nor a printable letter an HTTP client might start with
  mac[0] = 0x80 | (mac[0] & 0x7f);
  return mac.subarray(0, TOKEN_PREFIX_BYTES);
}

/** The first bytes a token knock sends: prefix, `s1.` token, newline. */
export function encodeTokenKnock(key: Uint8Array, door: string, nowMs: number, nonce?: string): Buffer {
  return Buffer.concat([tokenPrefix(key), Buffer.from(`${makeHmacToken(key, door, nowMs, nonce)}\n`, 'latin1')]);
}

/**
 * Checks a token knock's payload (as logged by the kernel, possibly cut short by the copy
 * range). Returns the token when signature, door and age are good; null otherwise. Whether
 * its nonce was used before is the caller's ReplayCache's job.
 */
export function verifyTokenKnock(key: Uint8Array, door: string, payload: Uint8Array, nowMs: number): HmacToken | null {
  const data = Buffer.from(payload);
  if (data.length <= TOKEN_PREFIX_BYTES || !data.subarray(0, TOKEN_PREFIX_BYTES).equals(tokenPrefix(key))) return null;
  const rest = data.subarray(TOKEN_PREFIX_BYTES);
  const end = rest.indexOf(0x0a);
  if (end < 0) return null;
  return verifyHmacToken(key, rest.subarray(0, end).toString('latin1'), door, nowMs);
}

const isTokenDoor = (d: Door): d is SharedDoor => d.kind === 'shared' && d.shared.secretKind === 'token';

/**
 * NFLOG group of a token door: the daemon's group is bound by the daemon itself, so each
 * token door gets its own, after it: `nflog_group + 1`, `+ 2`, ... in config order.
 */
export function tokenLogGroup(door: SharedDoor, plan: Pick<Plan, 'doors' | 'nflogGroup'>): number {
  const index = plan.doors.filter(isTokenDoor).findIndex((d) => d.name === door.name);
  return plan.nflogGroup + 1 + Math.max(0, index);
}
