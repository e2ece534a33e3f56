import type { KeyObject } from 'node:crypto';
import type { PortSpec } from '../core/port-spec.js';
import { type KnockRequest, signEd25519Packet, signSshPacket } from '../core/spa/signed-sign.js';
import { sendSpa, sendUdpAcked } from './spa-knock.js';
import type { SshCandidate } from './ssh-signer.js';

/**
 * Sends sesame's signed SPA packet: with an ed25519 key one packet; with ssh keys one per key
 * until the server answers (as ssh tries its keys), over UDP, where sesame answers an accepted
 * packet once the grant is in the kernel. Over TCP one packet, with the first key.
 */
export interface SignedKnock {
  readonly address: string;
  readonly port: number;
  readonly proto: 'udp' | 'tcp';
  readonly request: Omit<KnockRequest, 'nonce' | 'timestampMs'>;
  readonly ackWaitMs?: number;
}

export interface SignedKnockResult {
  /** The server's answer came (UDP): the grant is in. */
  readonly granted: boolean;
  /** Which key: `ed25519` or the ssh key's fingerprint (the last one tried). */
  readonly key: string;
  readonly bytes: number;
}

export async function knockEd25519(k: SignedKnock, privateKey: KeyObject): Promise<SignedKnockResult> {
  const packet = signEd25519Packet(k.request, privateKey);
  return { granted: await send(k, packet), key: 'ed25519', bytes: packet.length };
}

export async function knockSsh(k: SignedKnock, candidates: readonly SshCandidate[]): Promise<SignedKnockResult> {
  let last: SignedKnockResult | null = null;
  for (const c of k.proto === 'udp' ? candidates : candidates.slice(0, 1)) {
    const packet = await signSshPacket(k.request, c.sshsig);
    last = { granted: await send(k, packet), key: c.key.fingerprint, bytes: packet.length };
    if (last.granted) return last;
  }
  return last!;
}

async function send(k: SignedKnock, packet: Buffer): Promise<boolean> {
  if (k.proto === 'udp') return sendUdpAcked(packet, k.address, k.port, k.ackWaitMs ?? 500);
  await sendSpa(packet, k.address, k.port, 'tcp');
  return false;
}

/** The ports a ProxyCommand asks for: the one it connects to. */
export const tcpPort = (port: number): PortSpec[] => [{ proto: 'tcp', port }];
