import { createHash } from 'node:crypto';
import { SshReader, sshString, sshUint32 } from './ssh-wire.js';

/**
 * SSHSIG, the signature format of `ssh-keygen -Y sign` (openssh PROTOCOL.sshsig): the key
 * signs `"SSHSIG" string(namespace) string(reserved) string(hash) string(H(message))`, and the
 * blob carries `"SSHSIG" uint32(1) string(publickey) string(namespace) string(reserved)
 * string(hash) string(signature)`. sesame's knocks use the namespace below, so a signature
 * made for anything else (a git commit, a file) is never a knock, and the other way round.
 */

export const SSHSIG_NAMESPACE = 'sesame@knock';
const MAGIC = Buffer.from('SSHSIG', 'latin1');
const VERSION = 1;

export type SshSigHash = 'sha256' | 'sha512';

export interface SshSig {
  readonly publicKey: Uint8Array;
  readonly namespace: string;
  readonly hash: SshSigHash;
  /** The SSH signature blob: `string algorithm, string bytes`. */
  readonly signature: Uint8Array;
}

/** What the key signs for `message` (the agent gets these bytes). */
export function sshSigSignedData(
  message: Uint8Array,
  namespace = SSHSIG_NAMESPACE,
  hash: SshSigHash = 'sha512',
): Buffer {
  const h = createHash(hash).update(message).digest();
  return Buffer.concat([MAGIC, sshString(namespace), sshString(''), sshString(hash), sshString(h)]);
}

/** The blob (what the armored form's base64 holds). */
export function encodeSshSig(s: SshSig): Buffer {
  return Buffer.concat([
    MAGIC,
    sshUint32(VERSION),
    sshString(s.publicKey),
    sshString(s.namespace),
    sshString(''),
    sshString(s.hash),
    sshString(s.signature),
  ]);
}

/** Reads a blob; a reason when it is not one this version knows. Never throws. */
export function decodeSshSig(blob: Uint8Array): SshSig | string {
  const r = new SshReader(blob);
  const magic = r.bytes(6);
  if (!magic || !MAGIC.equals(magic)) return 'not an SSHSIG blob';
  const version = r.uint32();
  if (version !== VERSION) return `SSHSIG version ${version ?? '?'} (expected ${VERSION})`;
  const publicKey = r.string();
  const namespace = r.text();
  const reserved = r.string();
  const hash = r.text();
  const signature = r.string();
  if (!publicKey || namespace === null || !reserved || hash === null || !signature) return 'SSHSIG blob is truncated';
  if (r.left !== 0) return `SSHSIG blob has ${r.left} bytes too many`;
  if (hash !== 'sha256' && hash !== 'sha512') return `SSHSIG hash ${hash} (expected sha256 or sha512)`;
  return { publicKey, namespace, hash, signature };
}

/** The armored form ssh-keygen writes, and back. */
export function armorSshSig(blob: Uint8Array): string {
  const b64 = Buffer.from(blob)
    .toString('base64')
    .replace(/.{1,76}/g, '$&\n');
  return `-----BEGIN SSH SIGNATURE-----\n${b64}-----END SSH SIGNATURE-----\n`;
}

export function unarmorSshSig(text: string): Buffer | null {
  const m = /-----BEGIN SSH SIGNATURE-----([A-Za-z0-9+/=\s]+)-----END SSH SIGNATURE-----/.exec(text);
  return m ? Buffer.from(m[1].replace(/\s+/g, ''), 'base64') : null;
}
