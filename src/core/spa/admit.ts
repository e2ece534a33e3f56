import { BlockList, isIP } from 'node:net';
import type { Family, PortSpec, SpaDoor } from '../door.js';
import { DIGEST_B64_LEN } from './digest.js';
import { type GpgOpenResult, openGpgPacket } from './gpg.js';
import { type GpgKeyring, openGpgKeyring } from './gpg-keyring.js';
import { GPG_DECRYPT_COST, GPG_PREFIX_B64, type GpgPolicy, MIN_GPG_CHARS } from './gpg-policy.js';
import type { SpaMessage } from './message.js';
import { decryptSpaPacket, spaShape, verifySpaHmac } from './packet.js';
import { permit, type PermitRefusal } from './permit.js';

/**
 * Which SPA door (access.conf stanza) a checked packet opens, as fwknopd's incoming_spa()
 * decides it: stanzas in order; one is tried if the packet's source (and destination) match;
 * the first that authenticates the packet and permits the request wins. Pure: the replay
 * cache (asked through `firstUse` once a stanza's HMAC matched, before anything is
 * decrypted) and the firewall are the caller's (sources/spa/).
 */

export type SpaRefusalReason =
  | 'no-stanza' // no stanza's SOURCE/DESTINATION matches
  | 'replayed' // the HMAC matched, but this packet was seen before
  | 'expired' // ACCESS_EXPIRE passed
  | 'bad-hmac'
  | 'over-budget' // the source spent its budget of HMAC checks; nothing was computed
  | 'undecryptable'
  | 'bad-message'
  | 'bad-signature' // GnuPG: not signed, or not by a key of the stanza's signers file
  | 'signer-refused' // GnuPG: signed by a key not named in GPG_REMOTE_ID / GPG_FINGERPRINT_ID
  | PermitRefusal;

export type Admission =
  | {
      readonly ok: true;
      readonly door: SpaDoor;
      readonly address: string;
      readonly family: Family;
      readonly ports: readonly PortSpec[];
      readonly timeoutMs: number;
      readonly message: SpaMessage;
    }
  | {
      readonly ok: false;
      readonly reason: SpaRefusalReason;
      readonly detail: string;
      readonly door?: string;
    };

// how far a refusal got; the furthest one is reported
const STAGE: Record<SpaRefusalReason, number> = {
  'no-stanza': 0,
  expired: 1,
  'bad-hmac': 2,
  'over-budget': 2,
  replayed: 6,
  undecryptable: 3,
  'bad-message': 4,
  'bad-signature': 4,
  'signer-refused': 5,
  'too-old': 5,
  'bad-address': 5,
  'source-required': 5,
  username: 5,
  'ports-refused': 5,
};

interface Compiled {
  readonly door: SpaDoor;
  /** Stanzas with the same HMAC type and key share one check per packet. */
  readonly hmacGroup: string | null;
  /** A GnuPG stanza's own HMAC group, or its keys' group when it has no HMAC (one decryption each). */
  readonly gpgGroup: string | null;
  /** The GnuPG stanza's keys, opened once (they were checked at load, so this only fails on a bug). */
  readonly keyring: Promise<GpgKeyring | string> | null;
  readonly sources: BlockList | null;
  readonly destinations: BlockList | null;
}

function blockList(entries: readonly string[] | null): BlockList | null {
  if (!entries) return null;
  const b = new BlockList();
  for (const entry of entries) {
    const [addr, bits] = entry.split('/');
    const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) b.addAddress(addr, type);
    else b.addSubnet(addr, Number(bits), type);
  }
  return b;
}

function matches(list: BlockList | null, address: string | undefined): boolean {
  if (!list) return true;
  if (!address) return false;
  const f = isIP(address);
  return f !== 0 && list.check(address, f === 6 ? 'ipv6' : 'ipv4');
}

/** `::ffff:198.18.0.2` (IPv4 on a dual-stack socket) is 198.18.0.2. */
export function plainIp(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1] : address;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function openKeyring(policy: GpgPolicy): Promise<GpgKeyring | string> {
  return openGpgKeyring(policy).then((k) => (k.ok ? k.keyring : k.problems.map((p) => p.message).join('; ')));
}

export class SpaGate {
  private readonly doors: readonly Compiled[];

  constructor(doors: readonly SpaDoor[]) {
    // a door without fwknop keys takes only signed packets (signed-admit.ts)
    const keyed = doors.filter((d) => d.spa.key !== null || d.spa.gpg);
    this.doors = keyed.map((door) => {
      const { key, gpg } = door.spa;
      return {
        door,
        hmacGroup: key ? `${key.hmacType}:${hex(key.hmacKey)}` : null,
        gpgGroup: gpg ? (gpg.hmac ? `gpg:${gpg.hmac.type}:${hex(gpg.hmac.key)}` : `gpg-decrypt:${door.name}`) : null,
        keyring: gpg ? openKeyring(gpg) : null,
        sources: blockList(door.spa.sources),
        destinations: blockList(door.spa.destinations),
      };
    });
  }

  /**
   * Decides one packet (already through checkWire) from `peer` to `local` at `nowMs`.
   * `firstUse(ttlMs)` is called once, when the first stanza authenticates the packet (its
   * HMAC matches; for a GnuPG stanza without HMAC, once it decrypted and its signature
   * passed): false (seen before) refuses the packet as replayed. Authenticating first keeps
   * forgeries out of the cache. `spend(cost)` is asked once, before any HMAC is computed,
   * for what this packet can cost (one per distinct HMAC key among the stanzas it could
   * open, after the free shape checks, and GPG_DECRYPT_COST per GnuPG stanza without HMAC):
   * false refuses it as over-budget, so a flood's cost per packet does not grow with the
   * stanza count.
   */
  async admit(
    wire: string,
    peer: string,
    local: string | undefined,
    nowMs: number,
    firstUse: (ttlMs: number) => boolean | Promise<boolean>,
    spend: (cost: number) => boolean = () => true,
  ): Promise<Admission> {
    const from = plainIp(peer);
    const to = local ? plainIp(local) : undefined;
    let best: Extract<Admission, { ok: false }> = {
      ok: false,
      reason: 'no-stanza',
      detail: `no stanza for source ${from}`,
    };
    let used = false;
    const refuse = (reason: SpaRefusalReason, detail: string, door: string) => {
      if (STAGE[reason] >= STAGE[best.reason]) best = { ok: false, reason, detail, door };
    };
    const firstAuthenticated = async () => {
      if (used) return true;
      used = true;
      // remembered until no clock skew we accept could make it valid again
      return firstUse(replayTtlMs(this.doors.map((d) => d.door)));
    };

    // the stanzas this packet could open (by Rijndael, by GnuPG), and what checking them costs
    const candidates: { c: Compiled; rijndael: boolean; gpg: boolean }[] = [];
    const groups = new Map<string, number>();
    for (const c of this.doors) {
      const p = c.door.spa;
      if (!matches(c.sources, from) || !matches(c.destinations, to)) continue;
      if (p.expiresAtMs !== null && nowMs > p.expiresAtMs) {
        refuse('expired', `stanza ${p.origin} expired`, c.door.name);
        continue;
      }
      const shape = p.key ? spaShape(wire, p.key.hmacType) : 'no Rijndael key';
      const gpgFits = p.gpg ? gpgShape(wire, p.gpg) : 'no GnuPG key';
      if (shape && gpgFits) {
        refuse('bad-hmac', p.gpg && !p.key ? gpgFits : shape, c.door.name);
        continue;
      }
      candidates.push({ c, rijndael: !shape, gpg: !gpgFits });
      if (!shape && c.hmacGroup) groups.set(c.hmacGroup, 1);
      if (!gpgFits && c.gpgGroup) groups.set(c.gpgGroup, p.gpg?.hmac ? 1 : GPG_DECRYPT_COST);
    }
    const cost = [...groups.values()].reduce((a, b) => a + b, 0);
    if (cost > 0 && !spend(cost))
      return {
        ok: false,
        reason: 'over-budget',
        detail: `source spent its budget of HMAC checks (this packet needs ${cost})`,
      };
    const checked = new Map<string, HmacCheck>();
    const hmacOnce = (group: string, check: () => HmacCheck) => {
      let auth = checked.get(group);
      if (!auth) checked.set(group, (auth = check()));
      return auth;
    };

    for (const { c, rijndael, gpg } of candidates) {
      const { door } = c;
      let message: SpaMessage | null = null;
      const key = door.spa.key;
      if (rijndael && key && c.hmacGroup) {
        const auth = hmacOnce(c.hmacGroup, () => verifySpaHmac(wire, key));
        if (!auth.ok) refuse(auth.reason, auth.detail, door.name);
        else {
          if (!(await firstAuthenticated()))
            return { ok: false, reason: 'replayed', detail: 'packet was seen before', door: door.name };
          const opened = decryptSpaPacket(wire, key);
          if (opened.ok) message = opened.message;
          else refuse(opened.reason, opened.detail, door.name);
        }
      }
      if (!message && gpg && door.spa.gpg && c.keyring && c.gpgGroup) {
        const opened = await openGpg(wire, door, c.gpgGroup, c.keyring, nowMs, hmacOnce, firstAuthenticated);
        if (opened === 'replayed' || (opened.ok && !door.spa.gpg.hmac && !(await firstAuthenticated())))
          return { ok: false, reason: 'replayed', detail: 'packet was seen before', door: door.name };
        if (opened.ok) message = opened.message;
        else refuse(opened.reason, opened.detail, door.name);
      }
      if (!message) continue;
      const granted = permit(door, message, from, nowMs);
      if (!granted.ok) {
        refuse(granted.reason, granted.detail, door.name);
        continue;
      }
      const { ok: _ok, ...grant } = granted;
      return { ok: true, door, ...grant, message };
    }
    return best;
  }
}

type HmacCheck = ReturnType<typeof verifySpaHmac>;

/** A GnuPG stanza: its HMAC first when it has one (then the replay cache), then decryption and the signer. */
async function openGpg(
  wire: string,
  door: SpaDoor,
  group: string,
  keyring: Promise<GpgKeyring | string>,
  nowMs: number,
  hmacOnce: (group: string, check: () => HmacCheck) => HmacCheck,
  firstAuthenticated: () => Promise<boolean>,
): Promise<GpgOpenResult | Extract<HmacCheck, { ok: false }> | 'replayed'> {
  const policy = door.spa.gpg as GpgPolicy;
  let cipher = wire;
  if (policy.hmac) {
    const mac = policy.hmac;
    const auth = hmacOnce(group, () => verifySpaHmac(wire, { hmacKey: mac.key, hmacType: mac.type }, GPG_PREFIX_B64));
    if (!auth.ok) return auth;
    if (!(await firstAuthenticated())) return 'replayed';
    cipher = wire.slice(0, wire.length - DIGEST_B64_LEN[mac.type]);
  }
  const keys = await keyring;
  if (typeof keys === 'string') return { ok: false, reason: 'undecryptable', detail: keys };
  return openGpgPacket(cipher, policy, keys, nowMs, door.spa.maxAgeMs);
}

/** Why `wire` can't be a GnuPG packet for `gpg` (fwknopd takes 400 characters and more as GnuPG), or null. */
function gpgShape(wire: string, gpg: GpgPolicy): string | null {
  if (wire.length < MIN_GPG_CHARS) return `${wire.length} characters, fewer than a GnuPG packet's ${MIN_GPG_CHARS}`;
  const cipher = wire.length - (gpg.hmac ? DIGEST_B64_LEN[gpg.hmac.type] : 0);
  if ((GPG_PREFIX_B64.length + cipher) % 4 === 1)
    return `not whole base64 before a ${gpg.hmac?.type ?? 'missing'} HMAC`;
  return null;
}

/**
 * How long a packet is remembered: a packet stamped up to max_age in the future stays
 * acceptable until 2 x max_age from now; a minute more covers clock steps.
 */
export function replayTtlMs(doors: readonly SpaDoor[]): number {
  return 2 * Math.max(0, ...doors.map((d) => d.spa.maxAgeMs)) + 60_000;
}
