import { BlockList, isIP } from 'node:net';
import type { Family, PortSpec, SpaDoor } from '../door.js';
import type { SpaMessage } from './message.js';
import { decryptSpaPacket, type SpaKey, spaShape, verifySpaHmac } from './packet.js';

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
  | 'too-old' // timestamp outside max_age (either way)
  | 'bad-address' // the address in the message is not one to open
  | 'source-required' // 0.0.0.0 with REQUIRE_SOURCE_ADDRESS
  | 'username' // REQUIRE_USERNAME mismatch
  | 'ports-refused'; // outside OPEN_PORTS or inside RESTRICT_PORTS

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
  'too-old': 5,
  'bad-address': 5,
  'source-required': 5,
  username: 5,
  'ports-refused': 5,
};

interface Compiled {
  readonly door: SpaDoor & { readonly spa: { readonly key: SpaKey } };
  /** Stanzas with the same HMAC type and key share one check per packet. */
  readonly hmacGroup: string;
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

const portKey = (p: { proto: string; port: number }) => `${p.proto}/${p.port}`;

export class SpaGate {
  private readonly doors: readonly Compiled[];

  constructor(doors: readonly SpaDoor[]) {
    // a door without fwknop keys takes only signed packets (signed-admit.ts)
    const keyed = doors.filter((d): d is SpaDoor & { spa: { key: SpaKey } } => d.spa.key !== null);
    this.doors = keyed.map((door) => ({
      door,
      hmacGroup: `${door.spa.key.hmacType}:${Buffer.from(door.spa.key.hmacKey).toString('hex')}`,
      sources: blockList(door.spa.sources),
      destinations: blockList(door.spa.destinations),
    }));
  }

  /**
   * Decides one packet (already through checkWire) from `peer` to `local` at `nowMs`.
   * `firstUse(ttlMs)` is called once, when the first stanza's HMAC matches: false (seen
   * before) refuses the packet as replayed. The HMAC keeps forgeries out of the cache.
   * `spend(cost)` is asked once, before any HMAC is computed, for the number of HMACs this
   * packet needs (one per distinct HMAC key among the stanzas it could open, after the
   * free shape checks): false refuses it as over-budget, so a flood's cost per packet does
   * not grow with the stanza count.
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

    // the stanzas this packet could open, and what checking them costs
    const candidates: Compiled[] = [];
    const groups = new Set<string>();
    for (const c of this.doors) {
      const p = c.door.spa;
      if (!matches(c.sources, from) || !matches(c.destinations, to)) continue;
      if (p.expiresAtMs !== null && nowMs > p.expiresAtMs) {
        refuse('expired', `stanza ${p.origin} expired`, c.door.name);
        continue;
      }
      const shape = spaShape(wire, p.key.hmacType);
      if (shape) {
        refuse('bad-hmac', shape, c.door.name);
        continue;
      }
      candidates.push(c);
      groups.add(c.hmacGroup);
    }
    if (groups.size > 0 && !spend(groups.size))
      return {
        ok: false,
        reason: 'over-budget',
        detail: `source spent its budget of HMAC checks (this packet needs ${groups.size})`,
      };
    const checked = new Map<string, ReturnType<typeof verifySpaHmac>>();

    for (const c of candidates) {
      const { door } = c;
      const p = door.spa;
      let auth = checked.get(c.hmacGroup);
      if (!auth) {
        auth = verifySpaHmac(wire, p.key);
        checked.set(c.hmacGroup, auth);
      }
      if (!auth.ok) {
        refuse(auth.reason, auth.detail, door.name);
        continue;
      }
      if (!used) {
        used = true;
        // remembered until no clock skew we accept could make it valid again
        if (!(await firstUse(replayTtlMs(this.doors.map((d) => d.door)))))
          return { ok: false, reason: 'replayed', detail: 'packet was seen before', door: door.name };
      }
      const opened = decryptSpaPacket(wire, p.key);
      if (!opened.ok) {
        refuse(opened.reason, opened.detail, door.name);
        continue;
      }
      const m = opened.message;
      const ageMs = Math.abs(nowMs - m.timestamp * 1000);
      if (ageMs > p.maxAgeMs) {
        refuse(
          'too-old',
          `timestamp ${Math.round(ageMs / 1000)} s from the server's clock (max ${p.maxAgeMs / 1000} s)`,
          door.name,
        );
        continue;
      }
      let address: string;
      if (m.allowIp === '0.0.0.0') {
        if (p.requireSource) {
          refuse(
            'source-required',
            'packet asks to open its source address (0.0.0.0, fwknop -s); this stanza requires the address inside',
            door.name,
          );
          continue;
        }
        address = from;
      } else {
        address = m.allowIp;
      }
      const family = isIP(address);
      if (family === 0 || address === '::' || address === '0.0.0.0') {
        refuse('bad-address', `address ${address} is not one to open`, door.name);
        continue;
      }
      if (p.usernames && !p.usernames.includes(m.username)) {
        refuse('username', `username ${JSON.stringify(m.username)} is not allowed`, door.name);
        continue;
      }
      const restricted = new Set(p.restrictPorts.map(portKey));
      const open = p.openPorts && new Set(p.openPorts.map(portKey));
      const denied = m.access.filter((a) => restricted.has(portKey(a)) || (open && !open.has(portKey(a))));
      if (denied.length > 0) {
        refuse('ports-refused', `${denied.map(portKey).join(', ')} not allowed`, door.name);
        continue;
      }
      const asked = m.clientTimeout ?? 0;
      const timeoutMs = asked > 0 ? Math.min(asked * 1000, p.maxTimeoutMs) : door.forMs;
      const seen = new Set<string>();
      const ports = m.access.filter((a) => !seen.has(portKey(a)) && seen.add(portKey(a)));
      return { ok: true, door, address, family: family as Family, ports, timeoutMs, message: m };
    }
    return best;
  }
}

/**
 * How long a packet is remembered: a packet stamped up to max_age in the future stays
 * acceptable until 2 x max_age from now; a minute more covers clock steps.
 */
export function replayTtlMs(doors: readonly SpaDoor[]): number {
  return 2 * Math.max(0, ...doors.map((d) => d.spa.maxAgeMs)) + 60_000;
}
