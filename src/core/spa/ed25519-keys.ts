import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

/**
 * The keys of sesame's signed SPA packets: a user's public key is 32 raw bytes in base64
 * (`spa_keys: ["<base64>"]` in the users file, 44 characters); the private key stays with the
 * client as a PKCS#8 PEM file (`-----BEGIN PRIVATE KEY-----`, what openssl writes too).
 */

/** A new pair: the PEM for the client's file and the base64 public key for the users file. */
export function newEd25519Pair(): { privatePem: string; publicText: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicText: ed25519PublicText(publicKey),
  };
}

/** The 44-character base64 of a public (or private) key's 32 public bytes. */
export function ed25519PublicText(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const x = pub.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new TypeError('not an ed25519 key');
  return Buffer.from(x, 'base64url').toString('base64');
}

/** A users-file public key as a KeyObject, or why it is not one. */
export function parseEd25519Public(text: string): KeyObject | string {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/]{43}=?$/.test(t)) return 'expected an ed25519 public key: 32 bytes in base64 (44 characters)';
  const raw = Buffer.from(t, 'base64');
  if (raw.length !== 32) return `ed25519 public key is ${raw.length} bytes, expected 32`;
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  } catch (err) {
    return `not an ed25519 public key (${(err as Error).message})`;
  }
}

/** The client's private key file (PKCS#8 PEM) as a KeyObject, or why it is not one. */
export function parseEd25519Private(pem: string): KeyObject | string {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    return `not a PEM private key (${(err as Error).message.replace(/^error:\S+:/, '')})`;
  }
  if (key.asymmetricKeyType !== 'ed25519') return `a ${key.asymmetricKeyType ?? 'unknown'} key, expected ed25519`;
  return key;
}
