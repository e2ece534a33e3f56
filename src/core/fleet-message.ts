import { randomBytes } from 'node:crypto';
import { type Door, formatPort, type PortSpec } from './door.js';
import { ipFamily } from './ip-address.js';
import { isDoorName } from './door-name.js';
import { openRecord, type RecordKind, sealRecord } from './signed-record.js';

/**
 * Fleet messages: a grant or revocation one node made, for every other node of the cluster.
 * Decisions are replicated, not packets: `{door, address, ports, expiresAt, origin, id}`.
 *
 * Wire form: a signed record (core/signed-record.ts) of version `f1`: the MAC is checked before
 * the body is parsed, so a stranger who can write to Redis gets nothing parsed, let alone
 * opened. Pure apart from the random id.
 *
 * Times (`issuedAt`, `expiresAt`) are on the fleet clock (Redis's `TIME`, see fleet/clock.ts),
 * not the sender's own clock; a receiver also caps what it applies by the door's `for`.
 */

export type FleetKind = 'grant' | 'revoke';

export interface FleetMessage {
  readonly kind: FleetKind;
  readonly door: string;
  readonly address: string;
  /** The door's ports as `22/tcp`, for logs and for checking against the receiver's door. */
  readonly ports: readonly string[];
  /** Fleet-clock ms when the origin made the decision. */
  readonly issuedAt: number;
  /** Fleet-clock ms when the grant ends (for a revocation: when the grant it ends would have ended). */
  readonly expiresAt: number;
  /** The node that made it. */
  readonly origin: string;
  /** Unique per message; receivers apply an id once. */
  readonly id: string;
}

/** Why a received message was dropped: stable words for the log. */
export type FleetDrop =
  | 'oversized'
  | 'malformed'
  | 'bad-signature'
  | 'bad-field'
  | 'unknown-door'
  | 'door-not-in-fleet'
  | 'bad-address'
  | 'ports-not-of-door'
  | 'lifetime-beyond-for'
  | 'from-the-future'
  | 'expired'
  | 'revoked'
  | 'clock-offset'
  | 'name-mismatch';

export type FleetVerdict =
  | { readonly ok: true; readonly message: FleetMessage; readonly door: Door; readonly remainingMs: number }
  | { readonly ok: false; readonly reason: FleetDrop; readonly detail?: string };

/** Far more than any real message (a door's ports list is at most a few dozen entries). */
export const MAX_MESSAGE_CHARS = 4096;
const GRANT_RECORD: RecordKind = { label: 'sesame-fleet', version: 'f1', maxChars: MAX_MESSAGE_CHARS };
/** How far in the future `issuedAt` may be: fleet-clock offsets are measured to a few ms, this is generous. */
export const MAX_FUTURE_MS = 5_000;
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ID = /^[A-Za-z0-9_-]{16,64}$/;
const PORT = /^\d{1,5}\/(tcp|udp)$/;
/** Only characters an address can have: no zone (`%eth0`), no spaces, no nft syntax. */
const ADDRESS_CHARS = /^[0-9A-Fa-f:.]{2,45}$/;

export const isNodeName = (s: string) => NODE_NAME.test(s);

export const newMessageId = () => randomBytes(16).toString('base64url');

/**
 * The longest grant a door makes: its `for`, or for SPA doors the longest lifetime a packet may
 * ask for (fwknop `-f`, capped by the door's MAX_FW_TIMEOUT).
 */
export function maxLifetimeMs(door: Door): number {
  return door.kind === 'spa' ? Math.max(door.forMs, door.spa.maxTimeoutMs) : door.forMs;
}

/**
 * The message for a grant (or revocation) of `door` for `address`, on the fleet clock;
 * `ports` when the grant was for some ports only (SPA), else the door's.
 */
export function fleetMessage(
  kind: FleetKind,
  door: Door,
  address: string,
  origin: string,
  issuedAt: number,
  expiresAt: number,
  id = newMessageId(),
  ports: readonly PortSpec[] = door.open,
): FleetMessage {
  return { kind, door: door.name, address, ports: ports.map(formatPort), issuedAt, expiresAt, origin, id };
}

/** `22/tcp` back to a port spec (the shape was checked on receipt). */
export function parsePortText(text: string): PortSpec {
  const [port, proto] = text.split('/');
  return { port: Number(port), proto: proto as PortSpec['proto'] };
}

/** Encodes and signs `m` for `cluster`. */
export function signFleetMessage(key: Uint8Array, cluster: string, m: FleetMessage): string {
  return sealRecord(key, GRANT_RECORD, cluster, {
    kind: m.kind,
    door: m.door,
    address: m.address,
    ports: m.ports,
    issuedAt: m.issuedAt,
    expiresAt: m.expiresAt,
    origin: m.origin,
    id: m.id,
  });
}

export interface ReceiveContext {
  readonly key: Uint8Array;
  readonly cluster: string;
  /** This node's doors, as loaded now. */
  readonly doors: readonly Door[];
  /** Fleet-clock now. */
  readonly nowMs: number;
  /**
   * This node's own clock now, and the largest offset to the fleet clock it accepts: a message
   * must be live on both clocks, so a shifted `TIME` can't revive an expired grant. Omitted:
   * the fleet clock alone (tests of the other checks).
   */
  readonly local?: { readonly nowMs: number; readonly maxOffsetMs: number };
}

/**
 * Checks a message from Redis: size, signature, every field, the door (known here and taking
 * part in the fleet), the address, the ports, and the lifetime (at most the door's `for`, not
 * from the future, not over). Returns the message with the time to apply, or why it is dropped.
 */
export function receiveFleetMessage(text: unknown, ctx: ReceiveContext): FleetVerdict {
  const opened = openRecord(ctx.key, GRANT_RECORD, ctx.cluster, text);
  if (!opened.ok) return opened;
  const m = shape(opened.body);
  if (typeof m === 'string') return { ok: false, reason: 'bad-field', detail: m };

  const door = ctx.doors.find((d) => d.name === m.door);
  if (!door) return { ok: false, reason: 'unknown-door', detail: m.door };
  if (door.fleet === false) return { ok: false, reason: 'door-not-in-fleet', detail: m.door };
  if (!ADDRESS_CHARS.test(m.address) || ipFamily(m.address) === 0)
    return { ok: false, reason: 'bad-address', detail: m.address };
  const doorPorts = new Set(door.open.map(formatPort));
  const stray = m.ports.find((p) => !doorPorts.has(p));
  if (stray !== undefined) return { ok: false, reason: 'ports-not-of-door', detail: stray };
  const lifetime = m.expiresAt - m.issuedAt;
  const longest = maxLifetimeMs(door);
  if (lifetime <= 0 || lifetime > longest)
    return { ok: false, reason: 'lifetime-beyond-for', detail: `${lifetime} ms for a door of ${longest} ms` };
  if (m.issuedAt > ctx.nowMs + MAX_FUTURE_MS)
    return { ok: false, reason: 'from-the-future', detail: `issued ${m.issuedAt - ctx.nowMs} ms ahead` };
  const local = ctx.local ?? { nowMs: ctx.nowMs, maxOffsetMs: 0 };
  if (m.issuedAt > local.nowMs + local.maxOffsetMs + MAX_FUTURE_MS)
    return {
      ok: false,
      reason: 'from-the-future',
      detail: `issued ${m.issuedAt - local.nowMs} ms ahead of this node's clock`,
    };
  // live on the fleet clock and on this node's own, and bounded by the door's `for`: no clock,
  // Redis's shifted on the path included, can stretch a grant or bring an ended one back
  const remainingMs = Math.min(m.expiresAt - ctx.nowMs, m.expiresAt - local.nowMs, longest);
  if (remainingMs <= 0) return { ok: false, reason: 'expired', detail: `${-remainingMs} ms ago` };
  return { ok: true, message: m, door, remainingMs };
}

/** Field-by-field check of a parsed body; a string says which field is wrong. */
function shape(body: unknown): FleetMessage | string {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'body is not an object';
  const b = body as Record<string, unknown>;
  const keys = Object.keys(b).sort().join(',');
  if (keys !== 'address,door,expiresAt,id,issuedAt,kind,origin,ports') return `unexpected fields ${keys}`;
  if (b.kind !== 'grant' && b.kind !== 'revoke') return 'kind';
  if (!isDoorName(b.door)) return 'door';
  if (typeof b.address !== 'string') return 'address';
  if (!Array.isArray(b.ports) || b.ports.length > 64 || !b.ports.every((p) => typeof p === 'string' && PORT.test(p)))
    return 'ports';
  for (const t of ['issuedAt', 'expiresAt'] as const)
    if (!Number.isSafeInteger(b[t]) || (b[t] as number) <= 0) return t;
  if (typeof b.origin !== 'string' || !NODE_NAME.test(b.origin)) return 'origin';
  if (typeof b.id !== 'string' || !ID.test(b.id)) return 'id';
  return b as unknown as FleetMessage;
}

/**
 * Message ids already applied, kept until their message expires, so a message read twice
 * (catch-up and stream both carry it) or copied back into Redis by someone applies once.
 * Bounded: when full, the ids that expire first go first. Pure: time is passed in.
 */
export class SeenMessages {
  private readonly seen = new Map<string, number>();

  constructor(private readonly maxEntries = 200_000) {}

  /** True the first time `id` is offered (until `expiresAt`), false after. */
  first(id: string, expiresAt: number, nowMs: number): boolean {
    const exp = this.seen.get(id);
    if (exp !== undefined && exp > nowMs) return false;
    if (this.seen.size >= this.maxEntries) this.prune(nowMs);
    if (this.seen.size >= this.maxEntries) {
      const oldest = [...this.seen.entries()].reduce((a, b) => (b[1] < a[1] ? b : a));
      this.seen.delete(oldest[0]);
    }
    this.seen.set(id, expiresAt);
    return true;
  }

  prune(nowMs: number): void {
    for (const [id, exp] of this.seen) if (exp <= nowMs) this.seen.delete(id);
  }

  /** Forgets `id`: a grant dropped by reconciling may come back (its origin puts it on the stream again). */
  forget(id: string): void {
    this.seen.delete(id);
  }

  get size(): number {
    return this.seen.size;
  }
}
