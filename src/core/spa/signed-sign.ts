import { type KeyObject, randomBytes, sign } from 'node:crypto';
import { encodeSshSig, SSHSIG_NAMESPACE, sshSigSignedData } from '../ssh/sshsig.js';
import { encodeSignedPacket, encodeSignedRequest, NONCE_BYTES, type SignedRequest } from './signed-packet.js';

/** What a client fills in; the scheme, nonce and time are added here. */
export type KnockRequest = Omit<SignedRequest, 'scheme' | 'nonce' | 'timestampMs'> & {
  readonly timestampMs?: number;
  readonly nonce?: Uint8Array;
};

function request(r: KnockRequest, scheme: SignedRequest['scheme']): SignedRequest {
  return { ...r, scheme, nonce: r.nonce ?? randomBytes(NONCE_BYTES), timestampMs: r.timestampMs ?? Date.now() };
}

/** A packet signed with an ed25519 private key (`sesame knock --spa --key FILE`). */
export function signEd25519Packet(r: KnockRequest, privateKey: KeyObject): Buffer {
  const signed = encodeSignedRequest(request(r, 'ed25519'));
  return encodeSignedPacket(signed, sign(null, signed, privateKey));
}

/**
 * A packet signed with an ssh key: `sshsig` gets the signed part and answers an SSHSIG blob
 * over it (`sshSigBy` through ssh-agent, or `ssh-keygen -Y sign` of a key file).
 */
export async function signSshPacket(r: KnockRequest, sshsig: (signed: Buffer) => Promise<Uint8Array>): Promise<Buffer> {
  const signed = encodeSignedRequest(request(r, 'sshsig'));
  return encodeSignedPacket(signed, await sshsig(signed));
}

/**
 * An SSHSIG maker from a raw signer (ssh-agent's sign request): it gets the SSHSIG signed
 * data and answers the SSH signature blob.
 */
export function sshSigBy(
  publicKeyBlob: Uint8Array,
  signer: (data: Buffer) => Promise<Uint8Array>,
): (message: Buffer) => Promise<Buffer> {
  return async (message) => {
    const signature = await signer(sshSigSignedData(message, SSHSIG_NAMESPACE, 'sha512'));
    return encodeSshSig({ publicKey: publicKeyBlob, namespace: SSHSIG_NAMESPACE, hash: 'sha512', signature });
  };
}

/** A packet from a ready SSHSIG blob over the signed part (as `ssh-keygen -Y sign` makes it). */
export function sshSigPacket(signed: Uint8Array, sshSigBlob: Uint8Array): Buffer {
  return encodeSignedPacket(signed, sshSigBlob);
}
