import { createHash, type KeyObject, verify } from 'node:crypto';
import { isIP } from 'node:net';
import type { Family, PortSpec, SpaDoor } from '../door.js';
import { type SshPublicKey, verifySshSignature } from '../ssh/ssh-public-key.js';
import { decodeSshSig, SSHSIG_NAMESPACE, sshSigSignedData } from '../ssh/sshsig.js';
import { plainIp, replayTtlMs } from './admit.js';
import { decodeSignedPacket, type SignedPacket } from './signed-packet.js';

/**
 * Decides a sesame (signed) SPA packet: structure, door, user, time window, ports, then one
 * signature check against the keys the server holds for that user (public keys only: a copy
 * of the server's files can't sign), then the replay cache. Cheap checks come first and the
 * signature is paid from the source's budget, so forgeries cost a bounded amount. Pure: the
 * users, the replay cache and the budget are the caller's.
 */

/** The public keys the server holds for one user. */
export interface SignerKeys {
  /** ed25519 keys for the `ed25519` scheme (users file `spa_keys`). */
  readonly spa: readonly KeyObject[];
  /** ssh keys by their blob in base64 (users file `ssh_keys`, `authorized_keys`). */
  readonly ssh: ReadonlyMap<string, SshPublicKey>;
}

export interface Signers {
  /** The user's keys; undefined for a user the server doesn't know. */
  keys(user: string): SignerKeys | undefined;
  /** Whether `user` may open `door` (the door's `users:`). */
  mayUse(door: SpaDoor, user: string): boolean;
}

export type SignedRefusalReason =
  | 'not-spa'
  | 'no-door'
  | 'unknown-user'
  | 'user-not-allowed'
  | 'too-old'
  | 'ports-refused'
  | 'over-budget'
  | 'bad-signature'
  | 'replayed'
  | 'source-required'
  | 'bad-address';

export type SignedAdmission =
  | {
      readonly ok: true;
      readonly door: SpaDoor;
      readonly user: string;
      readonly address: string;
      readonly family: Family;
      readonly ports: readonly PortSpec[];
      readonly timeoutMs: number;
      /** `ed25519`, or the ssh key's fingerprint. */
      readonly key: string;
      readonly packet: SignedPacket;
    }
  | {
      readonly ok: false;
      readonly reason: SignedRefusalReason;
      readonly detail: string;
      readonly door?: string;
      readonly user?: string;
    };

const portKey = (p: PortSpec) => `${p.proto}/${p.port}`;

/** The replay key of a packet: what was signed (a re-encoded signature can't make it new). */
export function signedReplayKey(p: SignedPacket): string {
  return `spa-signed:${createHash('sha256').update(p.signed).digest('base64')}`;
}

export class SignedSpaGate {
  private readonly doors: ReadonlyMap<string, SpaDoor>;
  private readonly ordered: readonly SpaDoor[];
  private readonly ttlMs: number;

  /** `doors`: the spa doors that take signed packets (they name users). */
  constructor(
    doors: readonly SpaDoor[],
    private readonly signers: Signers,
  ) {
    this.doors = new Map(doors.map((d) => [d.name, d]));
    this.ordered = doors;
    this.ttlMs = replayTtlMs(doors);
  }

  async admit(
    data: Uint8Array,
    peer: string,
    nowMs: number,
    firstUse: (key: string, ttlMs: number) => boolean | Promise<boolean>,
    spend: () => boolean = () => true,
  ): Promise<SignedAdmission> {
    const decoded = decodeSignedPacket(data);
    if (!decoded.ok) return { ok: false, reason: 'not-spa', detail: decoded.detail };
    const p = decoded.packet;
    const refuse = (reason: SignedRefusalReason, detail: string): SignedAdmission => ({
      ok: false,
      reason,
      detail,
      door: p.door,
      user: p.user,
    });
    const keys = this.signers.keys(p.user);
    const door = p.door === '' ? this.anyDoor(p) : this.doors.get(p.door);
    if (!door)
      return {
        ok: false,
        reason: 'no-door',
        detail:
          p.door === ''
            ? `no door ${p.user} may use opens ${p.ports.map(portKey).join(', ')}`
            : `no door ${p.door} takes signed packets`,
        user: p.user,
      };
    if (!keys) return refuse('unknown-user', `no user ${p.user}`);
    if (!this.signers.mayUse(door, p.user))
      return refuse('user-not-allowed', `${p.user} may not use door ${door.name}`);
    const ageMs = Math.abs(nowMs - p.timestampMs);
    if (ageMs > door.spa.maxAgeMs)
      return refuse(
        'too-old',
        `timestamp ${Math.round(ageMs / 1000)} s from the server's clock (max ${door.spa.maxAgeMs / 1000} s)`,
      );
    const open = new Set(door.open.map(portKey));
    const denied = p.ports.filter((a) => !open.has(portKey(a)));
    if (denied.length > 0) return refuse('ports-refused', `${denied.map(portKey).join(', ')} not allowed`);
    if (!spend()) return refuse('over-budget', 'source spent its budget of signature checks');
    const key = checkSignature(p, keys);
    if (typeof key !== 'string') return refuse('bad-signature', key.detail);
    if (!(await firstUse(signedReplayKey(p), this.ttlMs))) return refuse('replayed', 'packet was seen before');

    let address = p.address;
    if (address === null) {
      if (door.spa.requireSource)
        return refuse(
          'source-required',
          'packet asks to open its source address; this door requires the address inside',
        );
      address = plainIp(peer);
    }
    const family = isIP(address);
    if (family === 0 || address === '::' || address === '0.0.0.0')
      return refuse('bad-address', `address ${address} is not one to open`);
    const timeoutMs = p.lifetimeS > 0 ? Math.min(p.lifetimeS * 1000, door.spa.maxTimeoutMs) : door.forMs;
    const seen = new Set<string>();
    const ports = p.ports.filter((a) => !seen.has(portKey(a)) && seen.add(portKey(a)));
    return { ok: true, door, user: p.user, address, family: family as Family, ports, timeoutMs, key, packet: p };
  }

  /** A packet that names no door: the first the user may use that has every port asked for. */
  private anyDoor(p: SignedPacket): SpaDoor | undefined {
    return this.ordered.find(
      (d) => this.signers.mayUse(d, p.user) && p.ports.every((a) => d.open.some((o) => portKey(o) === portKey(a))),
    );
  }
}

/** Which key signed `p` (`ed25519` or an ssh fingerprint), or why none of the user's did. */
function checkSignature(p: SignedPacket, keys: SignerKeys): string | { detail: string } {
  if (p.scheme === 'ed25519') {
    if (p.signature.length !== 64) return { detail: `ed25519 signature of ${p.signature.length} bytes` };
    for (const k of keys.spa) if (verify(null, p.signed, k, p.signature)) return 'ed25519';
    return { detail: keys.spa.length ? "signature matches none of the user's spa keys" : 'user has no spa keys' };
  }
  const sig = decodeSshSig(p.signature);
  if (typeof sig === 'string') return { detail: sig };
  if (sig.namespace !== SSHSIG_NAMESPACE)
    return { detail: `SSHSIG namespace ${sig.namespace} (expected ${SSHSIG_NAMESPACE})` };
  const pk = keys.ssh.get(Buffer.from(sig.publicKey).toString('base64'));
  if (!pk) return { detail: 'signed with an ssh key the user does not have' };
  if (!verifySshSignature(pk, sshSigSignedData(p.signed, sig.namespace, sig.hash), sig.signature))
    return { detail: `ssh signature does not verify with ${pk.fingerprint}` };
  return pk.fingerprint;
}
