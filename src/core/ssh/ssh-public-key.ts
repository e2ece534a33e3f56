import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { SshReader } from './ssh-wire.js';

/**
 * OpenSSH public keys (an `authorized_keys` line, a `.pub` file, the key blob inside an SSHSIG)
 * turned into node:crypto KeyObjects, and SSH signatures checked against them: ssh-ed25519,
 * ecdsa-sha2-nistp256/384/521 (RFC 5656) and RSA with rsa-sha2-256/512 (RFC 8332; the SHA-1
 * `ssh-rsa` signature is refused). Pure: parsing never throws, it returns a reason.
 */

export type SshKeyType =
  'ssh-ed25519' | 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ecdsa-sha2-nistp521' | 'ssh-rsa';

export const SSH_KEY_TYPES: readonly SshKeyType[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
];

/** RSA keys shorter than this are refused (OpenSSH itself refuses under 1024). */
export const MIN_RSA_BITS = 2048;

export interface SshPublicKey {
  readonly type: SshKeyType;
  /** The wire blob, as in the `.pub` file's base64: the identity of the key. */
  readonly blob: Buffer;
  readonly key: KeyObject;
  /** `SHA256:...` as `ssh-keygen -l` prints it. */
  readonly fingerprint: string;
  readonly comment: string;
}

const CURVES = {
  'ecdsa-sha2-nistp256': { name: 'nistp256', crv: 'P-256', size: 32, hash: 'sha256' },
  'ecdsa-sha2-nistp384': { name: 'nistp384', crv: 'P-384', size: 48, hash: 'sha384' },
  'ecdsa-sha2-nistp521': { name: 'nistp521', crv: 'P-521', size: 66, hash: 'sha512' },
} as const;

const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');

export function sshFingerprint(blob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** A key blob (RFC 4253 §6.6) as a KeyObject, or why it can't be one. */
export function parseSshKeyBlob(blob: Uint8Array, comment = ''): SshPublicKey | string {
  const r = new SshReader(blob);
  const type = r.text();
  if (type === null) return 'not an ssh public key';
  const jwk = keyJwk(type, r);
  if (typeof jwk === 'string') return jwk;
  if (r.left !== 0) return `${type} key has ${r.left} bytes too many`;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk, format: 'jwk' });
  } catch (err) {
    return `${type} key is not valid (${(err as Error).message})`;
  }
  if (type === 'ssh-rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) return `ssh-rsa key of ${bits} bits; at least ${MIN_RSA_BITS} are needed`;
  }
  const copy = Buffer.from(blob);
  return { type: type as SshKeyType, blob: copy, key, fingerprint: sshFingerprint(copy), comment };
}

function keyJwk(type: string, r: SshReader): Record<string, string> | string {
  if (type === 'ssh-ed25519') {
    const x = r.string();
    if (!x || x.length !== 32) return 'ssh-ed25519 key is not 32 bytes';
    return { kty: 'OKP', crv: 'Ed25519', x: b64url(x) };
  }
  if (type === 'ssh-rsa') {
    const e = r.mpint();
    const n = r.mpint();
    if (!e || !n || e.length === 0 || n.length === 0) return 'ssh-rsa key is truncated';
    return { kty: 'RSA', n: b64url(n), e: b64url(e) };
  }
  if (type in CURVES) {
    const c = CURVES[type as keyof typeof CURVES];
    const curve = r.text();
    const q = r.string();
    if (curve !== c.name) return `${type} key names curve ${curve ?? '?'}`;
    if (!q || q.length !== 1 + 2 * c.size || q[0] !== 4) return `${type} key point is not an uncompressed point`;
    return { kty: 'EC', crv: c.crv, x: b64url(q.subarray(1, 1 + c.size)), y: b64url(q.subarray(1 + c.size)) };
  }
  if (type.includes('-cert-v01@openssh.com')) return `${type}: certificates are not supported here`;
  if (type.startsWith('sk-')) return `${type}: security-key (FIDO) keys are not supported yet`;
  return `key type ${type} is not supported (expected ${SSH_KEY_TYPES.join(', ')})`;
}

/**
 * One public key line: `[options] TYPE BASE64 [comment]` (an authorized_keys line or a .pub
 * file). Options are skipped (a quoted option may hold spaces); what they restrict is ssh's.
 */
export function parseSshKeyLine(line: string): SshPublicKey | string {
  const text = line.trim();
  const m = /(?:^|\s)((?:ssh|ecdsa|sk)-[A-Za-z0-9@.-]+)\s+([A-Za-z0-9+/]+={0,2})(?:\s+(.*))?$/.exec(skipOptions(text));
  if (!m) return 'expected an ssh public key: TYPE BASE64 [comment]';
  const blob = Buffer.from(m[2], 'base64');
  const key = parseSshKeyBlob(blob, (m[3] ?? '').trim());
  if (typeof key === 'string') return key;
  if (key.type !== m[1]) return `key says ${m[1]} but its blob holds ${key.type}`;
  return key;
}

/** The line from its key type on: authorized_keys options before it removed. */
function skipOptions(text: string): string {
  if (/^(?:ssh|ecdsa|sk)-/.test(text)) return text;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && quoted) i++;
    else if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === ' ' || ch === '\t')) return text.slice(i + 1).trimStart();
  }
  return text;
}

/**
 * Checks an SSH signature blob (`string algorithm, string signature`) over `data`. The
 * algorithm must fit the key: ed25519, the key's own ECDSA curve, rsa-sha2-256/512.
 */
export function verifySshSignature(pk: SshPublicKey, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    const r = new SshReader(signature);
    const alg = r.text();
    const sig = r.string();
    if (alg === null || sig === null || r.left !== 0) return false;
    if (pk.type === 'ssh-ed25519') return alg === 'ssh-ed25519' && sig.length === 64 && verify(null, data, pk.key, sig);
    if (pk.type === 'ssh-rsa') {
      const hash = alg === 'rsa-sha2-256' ? 'sha256' : alg === 'rsa-sha2-512' ? 'sha512' : null;
      return hash !== null && verify(hash, data, pk.key, sig);
    }
    const c = CURVES[pk.type];
    if (alg !== pk.type) return false;
    const rs = new SshReader(sig);
    const rr = rs.mpint();
    const ss = rs.mpint();
    if (!rr || !ss || rs.left !== 0 || rr.length > c.size || ss.length > c.size) return false;
    const p1363 = Buffer.alloc(2 * c.size);
    p1363.set(rr, c.size - rr.length);
    p1363.set(ss, 2 * c.size - ss.length);
    return verify(c.hash, data, { key: pk.key, dsaEncoding: 'ieee-p1363' }, p1363);
  } catch {
    return false;
  }
}
