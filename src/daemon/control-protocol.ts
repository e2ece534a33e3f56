import { isIP } from 'node:net';
import { isDoorName } from '../core/door-name.js';

/**
 * The control socket's protocol (`STATE_DIR/control.sock`, root only): one JSON request line,
 * one JSON reply line. `sesame grant`/`revoke` use it so a running daemon makes the change
 * itself: through its firewall queue, logged, with the door's `run` commands. Pure.
 */

export const CONTROL_SOCKET = 'control.sock';
/** A request is a few hundred bytes; anything longer is not one of ours. */
export const MAX_REQUEST_BYTES = 4096;
/** Longest manual grant: nft set timeouts are kept in 32-bit milliseconds on older kernels. */
export const MAX_GRANT_MS = 30 * 86_400_000;

export type ControlRequest =
  | { readonly op: 'grant'; readonly door: string; readonly address: string; readonly forMs?: number }
  | { readonly op: 'revoke'; readonly door: string; readonly address: string };

export type ControlReply =
  | { readonly ok: true; readonly expiresAt?: number; readonly had?: boolean }
  | { readonly ok: false; readonly error: string };

/** Checks an address for a grant: one IPv4 or IPv6 address, no prefix, no zone. */
export function grantAddress(text: string): string | null {
  return isIP(text) !== 0 && !text.includes('%') ? text : null;
}

/** Parses one request line; returns the reason as text when it isn't a valid request. */
export function parseControlRequest(line: string): ControlRequest | string {
  if (line.length > MAX_REQUEST_BYTES) return 'request too long';
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'request is not JSON';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'request is not an object';
  const r = v as Record<string, unknown>;
  if (r.op !== 'grant' && r.op !== 'revoke') return 'op must be "grant" or "revoke"';
  if (!isDoorName(r.door)) return 'door must be a door name';
  if (typeof r.address !== 'string' || !grantAddress(r.address)) return 'address must be one IPv4 or IPv6 address';
  if (r.op === 'revoke') return { op: 'revoke', door: r.door, address: r.address };
  if (r.forMs !== undefined && !validGrantMs(r.forMs)) return `forMs must be an integer from 1000 to ${MAX_GRANT_MS}`;
  return {
    op: 'grant',
    door: r.door,
    address: r.address,
    ...(r.forMs !== undefined ? { forMs: r.forMs as number } : {}),
  };
}

export function validGrantMs(ms: unknown): ms is number {
  return typeof ms === 'number' && Number.isInteger(ms) && ms >= 1000 && ms <= MAX_GRANT_MS;
}

/** Parses a reply line (the client side). */
export function parseControlReply(line: string): ControlReply {
  const v = JSON.parse(line) as ControlReply;
  if (typeof v !== 'object' || v === null || typeof v.ok !== 'boolean') throw new Error('malformed reply');
  return v;
}
