import { b64Decode } from './base64.js';
import { MAX_KEY_BYTES } from './cipher.js';

/**
 * The key pair as `fwknop --key-gen` and `sesame token --spa-keys` print it:
 *
 *   KEY_BASE64: P076n05Ahw9uI5ssmaVSdmrvagh99i8iYxSmC0BgWKk=
 *   HMAC_KEY_BASE64: A4zu0QrM2eIFDc7sC3jzuFRHv3Kgi8cwTC0DD/BmFMYA+EJpx5bxzhOUmrQqHXZrA+34+aaE2jDc7AlIBlKuVg==
 *
 * (`KEY value` without the colon, as in access.conf and .fwknoprc, and plain `KEY`/`HMAC_KEY` too.)
 */

export interface SpaKeyPair {
  readonly key: Buffer;
  readonly hmacKey: Buffer;
}

const MAX_HMAC_KEY_BYTES = 128;

export function formatSpaKeys(pair: SpaKeyPair): string {
  return `KEY_BASE64: ${pair.key.toString('base64')}\nHMAC_KEY_BASE64: ${pair.hmacKey.toString('base64')}\n`;
}

/** Parses a key pair, or says what is wrong (never echoing key material). */
export function parseSpaKeys(text: string): SpaKeyPair | string {
  const found = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(KEY_BASE64|HMAC_KEY_BASE64|KEY|HMAC_KEY)\s*:?\s+(\S+)\s*$/.exec(line);
    if (m) found.set(m[1], m[2]);
  }
  const one = (name: 'KEY' | 'HMAC_KEY', max: number): Buffer | string => {
    const b64 = found.get(`${name}_BASE64`);
    const plain = found.get(name);
    if (b64 === undefined && plain === undefined) return `no ${name}_BASE64 line`;
    const bytes = b64 !== undefined ? b64Decode(b64.replace(/=+$/, '')) : Buffer.from(plain as string, 'latin1');
    if (!bytes || bytes.length === 0) return `${name}_BASE64 is not base64`;
    if (bytes.length > max) return `${name} is ${bytes.length} bytes, at most ${max}`;
    return bytes;
  };
  const key = one('KEY', MAX_KEY_BYTES);
  if (typeof key === 'string')
    return `${key}; expected the two lines \`sesame token --spa-keys\` (or fwknop --key-gen) prints`;
  const hmacKey = one('HMAC_KEY', MAX_HMAC_KEY_BYTES);
  if (typeof hmacKey === 'string')
    return `${hmacKey}; expected the two lines \`sesame token --spa-keys\` (or fwknop --key-gen) prints`;
  if (key.equals(hmacKey)) return 'the HMAC key must differ from the encryption key';
  return { key, hmacKey };
}
