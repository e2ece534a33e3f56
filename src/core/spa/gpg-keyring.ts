import { decryptKey, enums, type Key, type PrivateKey, readKeys, readPrivateKeys } from 'openpgp';
import type { GpgPolicy } from './gpg-policy.js';

/**
 * A GPG stanza's keys, opened: the secret keys GPG_DECRYPT_ID selects, unlocked with
 * GPG_DECRYPT_PW, and the signers' public keys. Opening is where every key problem shows
 * (at load, so `sesame check` names the line), never while a packet is read.
 */

export interface GpgKeyring {
  readonly decryption: readonly PrivateKey[];
  readonly verification: readonly Key[];
}

/** Which directive a problem belongs to, and what is wrong; never echoes a passphrase. */
export interface GpgKeyProblem {
  readonly field: 'GPG_DECRYPT_ID' | 'GPG_DECRYPT_PW' | 'GPG_HOME_DIR' | 'GPG_REMOTE_ID' | 'GPG_FINGERPRINT_ID';
  readonly message: string;
}

export type OpenedKeyring = { ok: true; keyring: GpgKeyring } | { ok: false; problems: GpgKeyProblem[] };

const HEX_ID = /^(?:0x)?([0-9a-f]{8}|[0-9a-f]{16}|[0-9a-f]{40})$/i;

/**
 * Whether `key` is the one `name` means, as gpg reads a key name: a (short or long) key ID or
 * a fingerprint of the key or one of its subkeys, else part of a user ID (case-insensitive).
 */
export function keyMatches(key: Key, name: string): boolean {
  const hex = HEX_ID.exec(name.replace(/\s+/g, ''));
  if (hex) {
    const want = hex[1].toLowerCase();
    return [key, ...key.getSubkeys()].some((k) => k.getFingerprint().toLowerCase().endsWith(want));
  }
  const needle = name.replace(/^<(.*)>$/, '$1').toLowerCase();
  return key.getUserIDs().some((u) => u.toLowerCase().includes(needle));
}

// fwknop adds back the "hQ" its client cuts: the packet must start with an old-format
// public-key session key packet of two length bytes, which RSA and ElGamal keys of 2048 bits
// and more give; an ECC (cv25519) key's shorter packet starts otherwise and never decrypts
const FRAMABLE = new Set<number>([enums.publicKey.rsaEncryptSign, enums.publicKey.rsaEncrypt, enums.publicKey.elgamal]);

/**
 * Every key of every armored block in `text`: `cat a.asc b.asc` and `gpg --export --armor A B`
 * both work (openpgp.js reads only the first block of a text it is handed whole).
 */
async function readArmored<T>(
  text: string,
  kind: 'PUBLIC' | 'PRIVATE',
  parse: (armor: string) => Promise<T[]>,
): Promise<T[]> {
  const blocks = text.match(
    new RegExp(`-----BEGIN PGP ${kind} KEY BLOCK-----[\\s\\S]*?-----END PGP ${kind} KEY BLOCK-----`, 'g'),
  );
  if (!blocks) throw new Error(`no -----BEGIN PGP ${kind} KEY BLOCK----- in it`);
  const out: T[] = [];
  for (const b of blocks) out.push(...(await parse(b)));
  return out;
}

async function read<T>(what: () => Promise<T>): Promise<T | string> {
  try {
    return await what();
  } catch (err) {
    return (err as Error).message;
  }
}

/** Parses and unlocks a stanza's keys; every problem found, each with its directive. */
export async function openGpgKeyring(p: GpgPolicy): Promise<OpenedKeyring> {
  const problems: GpgKeyProblem[] = [];
  const secret = await read(() => readArmored(p.secretKeys, 'PRIVATE', (a) => readPrivateKeys({ armoredKeys: a })));
  if (typeof secret === 'string')
    return {
      ok: false,
      problems: [{ field: 'GPG_HOME_DIR', message: `${p.secretFile}: not an armored secret key (${secret})` }],
    };
  const chosen = p.decryptId === null ? secret : secret.filter((k) => keyMatches(k, p.decryptId as string));
  if (chosen.length === 0)
    problems.push({
      field: 'GPG_DECRYPT_ID',
      message: `no secret key in ${p.secretFile} matches "${p.decryptId}" (it holds ${secret.map(describe).join(', ')})`,
    });
  const unlocked: PrivateKey[] = [];
  for (const key of chosen) {
    const enc = (await read(() => key.getEncryptionKey())) as { keyPacket: { algorithm: number } } | string;
    if (typeof enc === 'string' || !FRAMABLE.has(enc.keyPacket.algorithm)) {
      problems.push({
        field: 'GPG_DECRYPT_ID',
        message:
          `${describe(key)} has no RSA or ElGamal encryption key` +
          (typeof enc === 'string' ? ` (${enc})` : ` (${enums.read(enums.publicKey, enc.keyPacket.algorithm)})`) +
          `: fwknop's GPG packets only carry those; make one with gpg --quick-gen-key NAME rsa3072`,
      });
      continue;
    }
    if (key.isDecrypted()) {
      unlocked.push(key);
      continue;
    }
    const open = await read(() => decryptKey({ privateKey: key, passphrase: p.passphrase }));
    if (typeof open === 'string')
      problems.push({
        field: 'GPG_DECRYPT_PW',
        message: p.passphrase
          ? `does not unlock ${describe(key)} in ${p.secretFile}`
          : `${describe(key)} in ${p.secretFile} has a passphrase; set GPG_DECRYPT_PW`,
      });
    else unlocked.push(open);
  }
  let verification: Key[] = [];
  if (p.publicKeys !== null) {
    const pub = await read(() => readArmored(p.publicKeys as string, 'PUBLIC', (a) => readKeys({ armoredKeys: a })));
    if (typeof pub === 'string')
      problems.push({ field: 'GPG_HOME_DIR', message: `${p.publicFile}: not armored public keys (${pub})` });
    else {
      verification = pub;
      problems.push(...unknownSigners(p, pub));
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, keyring: { decryption: unlocked, verification } };
}

/** A GPG_REMOTE_ID or GPG_FINGERPRINT_ID that names no key of the public file could never open. */
function unknownSigners(p: GpgPolicy, keys: readonly Key[]): GpgKeyProblem[] {
  const fprs = keys.flatMap((k) => [k, ...k.getSubkeys()].map((s) => s.getFingerprint().toUpperCase()));
  const out: GpgKeyProblem[] = [];
  for (const id of p.remoteIds ?? [])
    if (!fprs.some((f) => f.endsWith(id)))
      out.push({ field: 'GPG_REMOTE_ID', message: `no key in ${p.publicFile} has the ID ${id}` });
  for (const fpr of p.fingerprints ?? [])
    if (!fprs.includes(fpr))
      out.push({ field: 'GPG_FINGERPRINT_ID', message: `no key in ${p.publicFile} has the fingerprint ${fpr}` });
  return out;
}

function describe(key: Key): string {
  const uid = key.getUserIDs()[0];
  return `${key.getFingerprint().toUpperCase()}${uid ? ` (${uid})` : ''}`;
}
