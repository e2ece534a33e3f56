import { type FleetDrop, isNodeName, MAX_FUTURE_MS } from './fleet-message.js';
import { openRecord, type RecordKind, sealRecord } from './signed-record.js';

/**
 * Fleet heartbeats: every node writes one under its own key every few seconds, and `sesame
 * status` lists the nodes seen. Signed with the fleet key like grant messages (under another
 * label, so neither can pass for the other), so someone who can write to Redis can't make up
 * nodes or counters. Wire form: a signed record (core/signed-record.ts) of version `h1`. Pure.
 */

export interface Heartbeat {
  /** The node's name; must match the key it was read from. */
  readonly name: string;
  /** Fleet-clock ms when it was written. */
  readonly at: number;
  readonly published: number;
  readonly received: number;
  /**
   * Random per daemon process: two nodes started from one VM image share a name, and a
   * heartbeat under this node's name with another instance shows it. Absent from older nodes.
   */
  readonly instance?: string;
}

export type HeartbeatVerdict =
  | { readonly ok: true; readonly heartbeat: Heartbeat }
  | { readonly ok: false; readonly reason: FleetDrop; readonly detail?: string };

const HEARTBEAT_RECORD: RecordKind = { label: 'sesame-fleet-heartbeat', version: 'h1', maxChars: 1024 };

/** Encodes and signs `h` for `cluster`. */
export function signHeartbeat(key: Uint8Array, cluster: string, h: Heartbeat): string {
  return sealRecord(key, HEARTBEAT_RECORD, cluster, {
    name: h.name,
    at: h.at,
    published: h.published,
    received: h.received,
    ...(h.instance !== undefined ? { instance: h.instance } : {}),
  });
}

/**
 * Checks a heartbeat read from the key of node `keyName`: size, signature (before parsing),
 * every field, the name (that of its key: a node's heartbeat copied under another name is
 * refused), and the time (not ahead of the fleet clock).
 */
export function receiveHeartbeat(
  text: unknown,
  ctx: { readonly key: Uint8Array; readonly cluster: string; readonly keyName: string; readonly nowMs: number },
): HeartbeatVerdict {
  const opened = openRecord(ctx.key, HEARTBEAT_RECORD, ctx.cluster, text);
  if (!opened.ok) return opened;
  const b = opened.body as Record<string, unknown>;
  if (!b || typeof b !== 'object' || Array.isArray(b)) return { ok: false, reason: 'bad-field', detail: 'body' };
  const fields = Object.keys(b).sort().join(',');
  if (fields !== 'at,name,published,received' && fields !== 'at,instance,name,published,received')
    return { ok: false, reason: 'bad-field', detail: `unexpected fields ${fields}` };
  if (b.instance !== undefined && (typeof b.instance !== 'string' || !/^[A-Za-z0-9_-]{8,64}$/.test(b.instance)))
    return { ok: false, reason: 'bad-field', detail: 'instance' };
  if (typeof b.name !== 'string' || !isNodeName(b.name)) return { ok: false, reason: 'bad-field', detail: 'name' };
  for (const f of ['at', 'published', 'received'] as const)
    if (!Number.isSafeInteger(b[f]) || (b[f] as number) < 0) return { ok: false, reason: 'bad-field', detail: f };
  if (b.name !== ctx.keyName)
    return { ok: false, reason: 'name-mismatch', detail: `${b.name} under the key of ${ctx.keyName}` };
  if ((b.at as number) > ctx.nowMs + MAX_FUTURE_MS)
    return { ok: false, reason: 'from-the-future', detail: `${(b.at as number) - ctx.nowMs} ms ahead` };
  return { ok: true, heartbeat: b as unknown as Heartbeat };
}
