import { createHash, createHmac } from 'node:crypto';

/**
 * The digest types fwknop knows, for the plaintext's message digest and for the HMAC
 * (`HMAC_DIGEST_TYPE`, the client's `--hmac-digest-type`). Lengths are of the base64 text
 * without `=` padding, which is how fwknop writes digests (lib/md5.h, sha1.h, sha2.h, sha3.h).
 */
export const DIGEST_TYPES = ['md5', 'sha1', 'sha256', 'sha384', 'sha512', 'sha3_256', 'sha3_512'] as const;
export type DigestType = (typeof DIGEST_TYPES)[number];

const NODE_NAME: Record<DigestType, string> = {
  md5: 'md5',
  sha1: 'sha1',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  sha3_256: 'sha3-256',
  sha3_512: 'sha3-512',
};

export const DIGEST_B64_LEN: Record<DigestType, number> = {
  md5: 22,
  sha1: 27,
  sha256: 43,
  sha384: 64,
  sha512: 86,
  sha3_256: 43,
  sha3_512: 86,
};

/** `SHA256`, `sha3_256`, `sha3-256` → the type; null for anything else. */
export function parseDigestType(text: string): DigestType | null {
  const t = text.trim().toLowerCase().replace('-', '_');
  return (DIGEST_TYPES as readonly string[]).includes(t) ? (t as DigestType) : null;
}

/** The digest types whose base64 is `len` characters: the plaintext digest is typed by length. */
export function digestTypesOfLength(len: number): DigestType[] {
  return DIGEST_TYPES.filter((t) => DIGEST_B64_LEN[t] === len);
}

export function digest(type: DigestType, data: string | Uint8Array): Buffer {
  return createHash(NODE_NAME[type]).update(data).digest();
}

export function hmac(type: DigestType, key: Uint8Array, data: string | Uint8Array): Buffer {
  return createHmac(NODE_NAME[type], key).update(data).digest();
}
