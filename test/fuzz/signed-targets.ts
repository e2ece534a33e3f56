import { createPrivateKey, createPublicKey, verify } from 'node:crypto';
import type { SpaDoor } from '../../src/core/door.js';
import { SignedSpaGate } from '../../src/core/spa/signed-admit.js';
import { decodeSignedPacket } from '../../src/core/spa/signed-packet.js';
import { parseSshKeyLine, type SshPublicKey } from '../../src/core/ssh/ssh-public-key.js';

/**
 * Fuzz target for sesame's signed SPA packets (corpus `signed`: packets signed with the keys
 * below, ed25519 and an SSHSIG by ssh-keygen). The gate must return a verdict for any bytes,
 * and what it accepts must carry a signature that verifies and ports the door has.
 */

// fixed keys so the committed corpus verifies; they guard nothing
export const FUZZ_SIGNED_PRIVATE = createPrivateKey(
  '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIN5cZEu9FP8OCJIxKuf2DZwYrWIbpBCXuROS67IY2U4Q\n-----END PRIVATE KEY-----\n',
);
export const FUZZ_SSH_LINE = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILpe7q9L5hqvMbOOUCy8KLIs093iKxLIBh9fnXKya6ka fuzz';
const ssh = parseSshKeyLine(FUZZ_SSH_LINE) as SshPublicKey;
const publicKey = createPublicKey(FUZZ_SIGNED_PRIVATE);

const door = {
  kind: 'spa',
  name: 'ssh',
  open: [
    { proto: 'tcp', port: 22 },
    { proto: 'udp', port: 53 },
  ],
  forMs: 30_000,
  reply: 'drop',
  spa: {
    sources: null,
    destinations: null,
    key: null,
    openPorts: null,
    restrictPorts: [],
    maxTimeoutMs: 300_000,
    requireSource: false,
    usernames: null,
    expiresAtMs: null,
    // the corpus is older than any window: let mutations reach the signature check
    maxAgeMs: 1e13,
    origin: 'door ssh',
  },
} as unknown as SpaDoor;

export const signedFuzzGate = new SignedSpaGate([door], {
  keys: (u) => (u === 'fuzz' ? { spa: [publicKey], ssh: new Map([[ssh.blob.toString('base64'), ssh]]) } : undefined),
  mayUse: () => true,
});

export async function signedTarget(input: Buffer): Promise<void> {
  const a = await signedFuzzGate.admit(input, '198.18.0.2', Date.now(), () => true);
  if (!a.ok) return;
  const d = decodeSignedPacket(input);
  if (!d.ok) throw new Error('accepted a packet that does not decode');
  if (a.packet.scheme === 'ed25519' && !verify(null, d.packet.signed, publicKey, d.packet.signature))
    throw new Error('accepted an ed25519 packet whose signature does not verify');
  for (const p of a.ports)
    if (!door.open.some((o) => o.port === p.port && o.proto === p.proto)) throw new Error(`accepted port ${p.port}`);
  if (a.user !== 'fuzz') throw new Error(`accepted user ${a.user}`);
}
