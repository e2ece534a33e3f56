import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The envelope of every signed fleet record (grant messages, heartbeats):
 * `<version>.<base64url(JSON body)>.<base64url(HMAC-SHA256)>`. The MAC covers a label, the
 * version, the cluster name and the encoded body; it is checked before the body is parsed, so
 * someone who can write to Redis but has no fleet key gets nothing parsed. Pure.
 */

export interface RecordKind {
  /** Keeps kinds apart: a heartbeat can't pass for a grant message. */
  readonly label: string;
  readonly version: string;
  /** Longest text accepted, checked before anything else. */
  readonly maxChars: number;
}

export type OpenedRecord =
  | { readonly ok: true; readonly body: unknown }
  | { readonly ok: false; readonly reason: 'malformed' | 'oversized' | 'bad-signature'; readonly detail?: string };

/** HMAC-SHA256 of a record body; the cluster name keeps clusters that share a key apart. */
export function recordMac(key: Uint8Array, kind: RecordKind, cluster: string, body: string): Buffer {
  return createHmac('sha256', key).update(`${kind.label}\n${kind.version}\n${cluster}\n${body}`).digest();
}

/** Encodes and signs `body` (a JSON value) as a record of `kind`. */
export function sealRecord(key: Uint8Array, kind: RecordKind, cluster: string, body: unknown): string {
  const text = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `${kind.version}.${text}.${recordMac(key, kind, cluster, text).toString('base64url')}`;
}

/** Checks size, shape and signature of `text`, then parses its body. */
export function openRecord(key: Uint8Array, kind: RecordKind, cluster: string, text: unknown): OpenedRecord {
  if (typeof text !== 'string') return { ok: false, reason: 'malformed', detail: 'not text' };
  if (text.length > kind.maxChars) return { ok: false, reason: 'oversized', detail: `${text.length} chars` };
  const parts = text.split('.');
  if (parts.length !== 3 || parts[0] !== kind.version || !parts.slice(1).every((p) => /^[A-Za-z0-9_-]+$/.test(p)))
    return { ok: false, reason: 'malformed', detail: `expected ${kind.version}.<body>.<mac>` };
  const given = Buffer.from(parts[2], 'base64url');
  const expected = recordMac(key, kind, cluster, parts[1]);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'bad-signature' };
  try {
    return { ok: true, body: JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) };
  } catch {
    return { ok: false, reason: 'malformed', detail: 'body is not JSON' };
  }
}
