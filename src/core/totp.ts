import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * TOTP (RFC 6238) over HOTP (RFC 4226) with the parameters every phone authenticator app
 * uses by default: HMAC-SHA1, 30 s steps, 6 digits. Pure: time is passed in.
 */

export const TOTP_STEP_MS = 30_000;
export const TOTP_DIGITS = 6;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding, the form authenticator apps accept in `secret=`. */
export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** Decodes base32, ignoring case, spaces, dashes and `=` padding. Returns null on other characters. */
export function base32Decode(text: string): Buffer | null {
  const clean = text.toUpperCase().replace(/[\s=-]/g, '');
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of clean) {
    const i = BASE32.indexOf(ch);
    if (i < 0) return null;
    value = ((value << 5) | i) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** HOTP value of `counter` (RFC 4226 section 5.3, dynamic truncation), zero-padded. */
export function hotp(key: Uint8Array, counter: number, digits = TOTP_DIGITS): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(msg).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const bin = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(bin % 10 ** digits).padStart(digits, '0');
}

/** The time step a moment falls in. */
export const totpCounter = (nowMs: number) => Math.floor(nowMs / TOTP_STEP_MS);

/** The code an authenticator app shows at `nowMs`. */
export function totp(key: Uint8Array, nowMs: number): string {
  return hotp(key, totpCounter(nowMs));
}

/**
 * Checks `code` against the steps `now-window .. now+window` (clock drift between phone and
 * server) and returns the matching step, or null. Every candidate is computed and compared
 * in constant time, so the time taken says nothing about which step (if any) matched.
 * Refusing a step that was already used is the caller's job (see ReplayCache in contracts.ts).
 */
export function verifyTotp(key: Uint8Array, code: string, nowMs: number, window = 1): number | null {
  const given = Buffer.from(code.padEnd(TOTP_DIGITS, '\0').slice(0, 16));
  const now = totpCounter(nowMs);
  let match: number | null = null;
  for (let c = now - window; c <= now + window; c++) {
    const expected = Buffer.from(hotp(key, c).padEnd(given.length, '\0'));
    const same = expected.length === given.length && timingSafeEqual(expected, given);
    if (same && match === null) match = c;
  }
  return code.length === TOTP_DIGITS ? match : null;
}

/**
 * The `otpauth://` URI that authenticator apps import (usually as a QR code), per the
 * Key Uri Format: https://github.com/google/google-authenticator/wiki/Key-Uri-Format
 */
export function otpauthUri(key: Uint8Array, account: string, issuer = 'sesame'): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const params = new URLSearchParams({
    secret: base32Encode(key),
    issuer,
    algorithm: 'SHA1',
    digits: String(TOTP_DIGITS),
    period: String(TOTP_STEP_MS / 1000),
  });
  return `otpauth://totp/${label}?${params}`;
}
