import { randomInt, timingSafeEqual } from 'node:crypto';
import { b64Decode, b64Encode, isB64Text } from './base64.js';
import { rijndaelDecrypt, rijndaelEncrypt } from './cipher.js';
import { DIGEST_B64_LEN, type DigestType, hmac } from './digest.js';
import { formatSpaText, parseSpaText, type SpaMessage, type SpaTextInput } from './message.js';

/**
 * The SPA packet on the wire (fwknop 2.6, Rijndael + HMAC): b64(`Salted__` + salt +
 * ciphertext) without its first 10 characters (`U2FsdGVkX1`, which every such packet
 * shares), followed directly by b64(HMAC over the full b64 ciphertext, prefix included).
 * lib/fko_encryption.c, fko_hmac.c, server/incoming_spa.c.
 *
 * `openSpaPacket` is the server's path: bytes in, verdict out, never throws. It checks the
 * HMAC (constant time) before it decrypts anything.
 */

export const SALTED_B64 = 'U2FsdGVkX1';
/** fwknopd's MIN_SPA_DATA_SIZE and MAX_SPA_PACKET_LEN. */
export const MIN_PACKET_CHARS = 140;
export const MAX_PACKET_CHARS = 1500;
/** MIN_SPA_ENCODED_MSG_SIZE: what must be left once the HMAC is cut off. */
const MIN_CIPHER_CHARS = 36;
/** AES block: `Salted__` + salt is one, the ciphertext is whole ones. */
const CIPHER_BLOCK = 16;

export interface SpaKey {
  /** Rijndael key as bytes (KEY, or KEY_BASE64 decoded), 1..32 bytes. */
  readonly key: Uint8Array;
  readonly hmacKey: Uint8Array;
  readonly hmacType: DigestType;
  /** ENCRYPTION_MODE legacy: the key is padded with `0` to 16 bytes. */
  readonly legacy?: boolean;
}

/** Why a packet was refused; stable words for logs and tests. */
export type SpaRefusal =
  | 'not-spa' // size or characters can't be an SPA packet
  | 'bad-hmac'
  | 'undecryptable' // HMAC fine, but the ciphertext doesn't decrypt with this key
  | 'bad-message'; // decrypted, but the text is not a valid (supported) SPA message

export type WireResult = { ok: true; wire: string } | { ok: false; reason: 'not-spa'; detail: string };
export type OpenResult =
  { ok: true; message: SpaMessage } | { ok: false; reason: Exclude<SpaRefusal, 'not-spa'>; detail: string };

/** First look at received bytes: size and alphabet (fwknopd's preprocess_spa_data). */
export function checkWire(data: Uint8Array | string): WireResult {
  const n = data.length;
  if (n < MIN_PACKET_CHARS)
    return { ok: false, reason: 'not-spa', detail: `${n} bytes, fewer than ${MIN_PACKET_CHARS}` };
  if (n > MAX_PACKET_CHARS)
    return { ok: false, reason: 'not-spa', detail: `${n} bytes, more than ${MAX_PACKET_CHARS}` };
  const wire = typeof data === 'string' ? data : Buffer.from(data).toString('latin1');
  // a trailing newline (a packet file sent with socat, nc) is not part of the packet
  const trimmed = wire.replace(/\r?\n$/, '');
  if (!isB64Text(trimmed)) return { ok: false, reason: 'not-spa', detail: 'not base64 text' };
  // a packet that still carries the prefix can only be a tampered copy of one that did not
  if (trimmed.startsWith(SALTED_B64))
    return { ok: false, reason: 'not-spa', detail: 'starts with the Salted__ prefix' };
  return { ok: true, wire: trimmed };
}

/** Authenticates (HMAC first, constant time), decrypts and parses a checked wire packet. */
export function openSpaPacket(wire: string, key: SpaKey): OpenResult {
  const auth = verifySpaHmac(wire, key);
  return auth.ok ? decryptSpaPacket(wire, key) : auth;
}

/**
 * Why `wire` can't be a packet with a `type` HMAC, or null when its shape fits: the part
 * before the HMAC must decode (with its cut prefix) to `Salted__`, salt and whole cipher
 * blocks. Free (lengths only), so a packet of the wrong shape costs no HMAC.
 */
export function spaShape(wire: string, type: DigestType): string | null {
  const chars = SALTED_B64.length + wire.length - DIGEST_B64_LEN[type];
  if (wire.length - DIGEST_B64_LEN[type] < MIN_CIPHER_CHARS) return 'too short for its HMAC';
  const bytes = Math.floor((chars * 3) / 4);
  if (chars % 4 === 1 || bytes % CIPHER_BLOCK !== 0)
    return `not whole cipher blocks before a ${type} HMAC (${bytes} bytes)`;
  return null;
}

/**
 * The HMAC check alone, constant time; nothing is decrypted. Never throws. `prefix` is what
 * the client cut off the ciphertext's base64 (the HMAC covers it): `Salted__`'s for
 * Rijndael, GnuPG's `hQ` for a GPG packet.
 */
export function verifySpaHmac(
  wire: string,
  key: Pick<SpaKey, 'hmacKey' | 'hmacType'>,
  prefix = SALTED_B64,
): { ok: true } | { ok: false; reason: 'bad-hmac'; detail: string } {
  try {
    const macLen = DIGEST_B64_LEN[key.hmacType];
    if (wire.length - macLen < MIN_CIPHER_CHARS)
      return { ok: false, reason: 'bad-hmac', detail: 'too short for its HMAC' };
    const cipherB64 = prefix + wire.slice(0, wire.length - macLen);
    const sent = Buffer.from(wire.slice(wire.length - macLen), 'latin1');
    const want = Buffer.from(b64Encode(hmac(key.hmacType, key.hmacKey, cipherB64)), 'latin1');
    if (sent.length !== want.length || !timingSafeEqual(sent, want)) {
      return { ok: false, reason: 'bad-hmac', detail: `${key.hmacType} HMAC does not match` };
    }
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: 'bad-hmac', detail: `decoder error: ${(err as Error).message}` };
  }
}

/** Decrypts and parses a packet whose HMAC `verifySpaHmac` accepted. Never throws. */
export function decryptSpaPacket(wire: string, key: SpaKey): OpenResult {
  try {
    const cipherB64 = SALTED_B64 + wire.slice(0, wire.length - DIGEST_B64_LEN[key.hmacType]);
    const raw = b64Decode(cipherB64);
    if (!raw) return { ok: false, reason: 'undecryptable', detail: 'ciphertext is not base64' };
    const plain = rijndaelDecrypt(raw, key.key, key.legacy ?? false);
    if (!plain) return { ok: false, reason: 'undecryptable', detail: 'wrong encryption key or mode' };
    const text = plain.toString('latin1');
    if (!/^\d{16}:/.test(text)) return { ok: false, reason: 'undecryptable', detail: 'wrong encryption key or mode' };
    const parsed = parseSpaText(text);
    if (!parsed.ok) return { ok: false, reason: 'bad-message', detail: parsed.reason };
    return { ok: true, message: parsed.message };
  } catch (err) {
    // nothing above is meant to throw; if something does, it is a refusal, not a crash
    return { ok: false, reason: 'bad-message', detail: `decoder error: ${(err as Error).message}` };
  }
}

export interface MakeSpaInput extends Omit<SpaTextInput, 'random'> {
  readonly random?: string;
  /** For tests: a fixed salt makes the packet reproducible. */
  readonly salt?: Uint8Array;
}

/** The client's path (fko_spa_data_final): text → encrypt → b64 → cut prefix → append HMAC. */
export function makeSpaPacket(input: MakeSpaInput, key: SpaKey): string {
  const random = input.random ?? randomDigits(16);
  const text = formatSpaText({ ...input, random });
  const cipherB64 = b64Encode(rijndaelEncrypt(Buffer.from(text, 'latin1'), key.key, key.legacy ?? false, input.salt));
  const mac = b64Encode(hmac(key.hmacType, key.hmacKey, cipherB64));
  return cipherB64.slice(SALTED_B64.length) + mac;
}

function randomDigits(n: number): string {
  let s = '';
  while (s.length < n) s += String(randomInt(0, 10));
  return s;
}
