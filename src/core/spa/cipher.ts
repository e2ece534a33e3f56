import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * fwknop's Rijndael mode, byte for byte what `openssl enc -aes-256-cbc -md md5` does:
 * key and IV from EVP_BytesToKey (MD5, one iteration, 8-byte salt), the key used as given,
 * output `Salted__` + salt + ciphertext (lib/cipher_funcs.c rij_salt_and_iv, rij_encrypt).
 * Legacy mode (`ENCRYPTION_MODE legacy`, the old Perl client) pads a short key with `0`
 * characters to 16 bytes first.
 */

const SALTED = Buffer.from('Salted__');
const SALT_LEN = 8;
const BLOCK = 16;
/** RIJNDAEL_MAX_KEYSIZE: fwknop refuses longer keys. */
export const MAX_KEY_BYTES = 32;

function passphrase(key: Uint8Array, legacy: boolean): Buffer {
  const k = Buffer.from(key);
  if (!legacy || k.length >= 16) return k;
  return Buffer.concat([k, Buffer.alloc(16 - k.length, '0')]);
}

/** EVP_BytesToKey(aes-256-cbc, md5, salt, pass, 1): 32 key bytes and 16 IV bytes. */
export function deriveKeyIv(key: Uint8Array, salt: Uint8Array, legacy: boolean): { key: Buffer; iv: Buffer } {
  const pass = passphrase(key, legacy);
  const out: Buffer[] = [];
  let prev = Buffer.alloc(0);
  while (out.length * 16 < 48) {
    prev = createHash('md5').update(prev).update(pass).update(salt).digest();
    out.push(prev);
  }
  const all = Buffer.concat(out);
  return { key: all.subarray(0, 32), iv: all.subarray(32, 48) };
}

/** `Salted__` + salt + AES-256-CBC(PKCS#7) of `plaintext`. `salt` is for tests; random by default. */
export function rijndaelEncrypt(plaintext: Uint8Array, key: Uint8Array, legacy = false, salt?: Uint8Array): Buffer {
  const s = salt ? Buffer.from(salt) : randomBytes(SALT_LEN);
  const { key: k, iv } = deriveKeyIv(key, s, legacy);
  const c = createCipheriv('aes-256-cbc', k, iv);
  return Buffer.concat([SALTED, s, c.update(plaintext), c.final()]);
}

/**
 * The plaintext of `Salted__` + salt + ciphertext, or null when the sizes are wrong or the
 * padding is not PKCS#7 (what a wrong key gives). Never throws.
 */
export function rijndaelDecrypt(data: Uint8Array, key: Uint8Array, legacy = false): Buffer | null {
  if (data.length < 2 * BLOCK || data.length % BLOCK !== 0 || key.length === 0 || key.length > MAX_KEY_BYTES)
    return null;
  const salt = data.subarray(SALTED.length, SALTED.length + SALT_LEN);
  const { key: k, iv } = deriveKeyIv(key, salt, legacy);
  const d = createDecipheriv('aes-256-cbc', k, iv);
  d.setAutoPadding(false);
  const plain = Buffer.concat([d.update(data.subarray(BLOCK)), d.final()]);
  const pad = plain[plain.length - 1];
  if (pad < 1 || pad > BLOCK) return null;
  for (let i = plain.length - pad; i < plain.length; i++) if (plain[i] !== pad) return null;
  return plain.subarray(0, plain.length - pad);
}
