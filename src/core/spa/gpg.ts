import { decrypt, enums, readMessage } from 'openpgp';
import { b64Decode } from './base64.js';
import type { GpgKeyring } from './gpg-keyring.js';
import { GPG_PREFIX_B64, type GpgPolicy } from './gpg-policy.js';
import { parseSpaText, type SpaMessage } from './message.js';

/**
 * fwknop's GnuPG SPA packet (lib/fko_encryption.c gpg_encrypt/gpg_decrypt, gpgme_funcs.c):
 * the SPA text (with its digest) encrypted to the server's key and, with --gpg-signer-key,
 * signed, as one binary OpenPGP message; on the wire its base64 without `=` and without the
 * leading "hQ" every such message shares, then the HMAC when the client adds one (computed
 * over the base64 with "hQ", as for Rijndael with `U2FsdGVkX1`).
 *
 * `openGpgPacket` is the server's path past the HMAC: decrypt, parse, then the signature as
 * fwknopd's process_sigs and handle_gpg_sigs check it. Never throws.
 */

export interface GpgSigner {
  /** The fingerprint of the key (or subkey) that made the signature, 40 upper-case hex digits. */
  readonly fingerprint: string;
  /** Its last 8 digits: what fwknopd compares GPG_REMOTE_ID with. */
  readonly id: string;
}

export type GpgOpenResult =
  | { ok: true; message: SpaMessage; signer: GpgSigner | null }
  | { ok: false; reason: 'undecryptable' | 'bad-message' | 'bad-signature' | 'signer-refused'; detail: string };

// a packet is at most 1500 characters, but a compressed packet inside it could expand to
// megabytes (zlib ~1000:1, bzip2 far more) before anything is parsed; an SPA message is
// under MAX_SPA_ENCODED_MSG_SIZE. ElGamal stays allowed for decryption (old GnuPG keys)
const DECRYPT_CONFIG = {
  maxDecompressedMessageSize: 4096,
  rejectPublicKeyAlgorithms: new Set([enums.publicKey.dsa]),
};

type Refusal = Extract<GpgOpenResult, { ok: false }>;
const refuse = (reason: Refusal['reason'], detail: string): Refusal => ({ ok: false, reason, detail });

/**
 * Decrypts `cipherWire` (the packet without its HMAC, "hQ" still cut off) with the stanza's
 * keys. `nowMs` is the server's clock and `skewMs` the clock difference a packet may have
 * (MAX_SPA_PACKET_AGE): a client whose clock runs ahead signs "in the future", which gpg accepts.
 */
export async function openGpgPacket(
  cipherWire: string,
  policy: GpgPolicy,
  keyring: GpgKeyring,
  nowMs: number,
  skewMs: number,
): Promise<GpgOpenResult> {
  try {
    const bytes = b64Decode(GPG_PREFIX_B64 + cipherWire);
    if (!bytes) return refuse('undecryptable', 'ciphertext is not base64');
    let message;
    try {
      message = await readMessage({ binaryMessage: bytes });
    } catch (err) {
      return refuse('undecryptable', `not an OpenPGP message: ${(err as Error).message}`);
    }
    let out;
    try {
      out = await decrypt({
        message,
        decryptionKeys: [...keyring.decryption],
        ...(keyring.verification.length > 0 ? { verificationKeys: [...keyring.verification] } : {}),
        format: 'binary',
        date: new Date(nowMs + skewMs),
        config: DECRYPT_CONFIG,
      });
    } catch (err) {
      return refuse('undecryptable', `does not decrypt with the stanza's key: ${(err as Error).message}`);
    }
    const text = Buffer.from(out.data).toString('latin1');
    if (!/^\d{16}:/.test(text)) return refuse('undecryptable', 'decrypted data is not an SPA message');
    const parsed = parseSpaText(text);
    if (!parsed.ok) return refuse('bad-message', parsed.reason);
    if (!policy.requireSig) return { ok: true, message: parsed.message, signer: null };
    const signer = await checkSignature(out.signatures, keyring);
    if ('reason' in signer) return signer;
    const refused = signerRefused(policy, signer);
    if (refused) return refuse('signer-refused', refused);
    return { ok: true, message: parsed.message, signer };
  } catch (err) {
    // nothing above is meant to throw; if something does, it is a refusal, not a crash
    return refuse('bad-message', `decoder error: ${(err as Error).message}`);
  }
}

type Signatures = Awaited<ReturnType<typeof decrypt>>['signatures'];

/** fwknopd reads the first signature only; it must verify with a key of the public file. */
async function checkSignature(sigs: Signatures, keyring: GpgKeyring): Promise<GpgSigner | Refusal> {
  const first = sigs[0];
  if (!first) return refuse('bad-signature', 'packet is not signed (GPG_REQUIRE_SIG)');
  const keyId = first.keyID.toHex().toUpperCase();
  try {
    await first.verified;
  } catch (err) {
    return refuse('bad-signature', `signature by key ${keyId} does not verify: ${(err as Error).message}`);
  }
  for (const key of keyring.verification)
    for (const k of [key, ...key.getSubkeys()])
      if (k.getKeyID().toHex().toUpperCase() === keyId) {
        const fingerprint = k.getFingerprint().toUpperCase();
        return { fingerprint, id: fingerprint.slice(-8) };
      }
  return refuse('bad-signature', `signature by key ${keyId}, which is not in the public key file`);
}

/** handle_gpg_sigs: GPG_FINGERPRINT_ID first, then GPG_REMOTE_ID; each list set must name the signer. */
export function signerRefused(policy: GpgPolicy, signer: GpgSigner): string | null {
  if (policy.fingerprints && !policy.fingerprints.includes(signer.fingerprint))
    return `signed by ${signer.fingerprint}, which is not in GPG_FINGERPRINT_ID`;
  if (policy.remoteIds && !policy.remoteIds.includes(signer.id))
    return `signed by ID ${signer.id} (${signer.fingerprint}), which is not in GPG_REMOTE_ID`;
  return null;
}
