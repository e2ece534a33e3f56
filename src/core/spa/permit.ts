import { isIP } from 'node:net';
import type { Family, PortSpec, SpaDoor } from '../door.js';
import type { SpaMessage } from './message.js';

/**
 * What a stanza decides about a message it decrypted (fwknopd's check_src_access,
 * check_port_proto, REQUIRE_* checks in incoming_spa.c): its age, the address to open,
 * the username and the ports. Pure; the same for Rijndael and GnuPG packets.
 */

export type PermitRefusal = 'too-old' | 'bad-address' | 'source-required' | 'username' | 'ports-refused';

export type Permit =
  | { ok: true; address: string; family: Family; ports: readonly PortSpec[]; timeoutMs: number }
  | { ok: false; reason: PermitRefusal; detail: string };

const portKey = (p: { proto: string; port: number }) => `${p.proto}/${p.port}`;

/** `from` is the packet's source (plain IP); `nowMs` the server's clock. */
export function permit(door: SpaDoor, m: SpaMessage, from: string, nowMs: number): Permit {
  const p = door.spa;
  const ageMs = Math.abs(nowMs - m.timestamp * 1000);
  if (ageMs > p.maxAgeMs)
    return {
      ok: false,
      reason: 'too-old',
      detail: `timestamp ${Math.round(ageMs / 1000)} s from the server's clock (max ${p.maxAgeMs / 1000} s)`,
    };
  let address: string;
  if (m.allowIp === '0.0.0.0') {
    if (p.requireSource)
      return {
        ok: false,
        reason: 'source-required',
        detail: 'packet asks to open its source address (0.0.0.0, fwknop -s); this stanza requires the address inside',
      };
    address = from;
  } else {
    address = m.allowIp;
  }
  const family = isIP(address);
  if (family === 0 || address === '::' || address === '0.0.0.0')
    return { ok: false, reason: 'bad-address', detail: `address ${address} is not one to open` };
  if (p.usernames && !p.usernames.includes(m.username))
    return { ok: false, reason: 'username', detail: `username ${JSON.stringify(m.username)} is not allowed` };
  const restricted = new Set(p.restrictPorts.map(portKey));
  const open = p.openPorts && new Set(p.openPorts.map(portKey));
  const denied = m.access.filter((a) => restricted.has(portKey(a)) || (open && !open.has(portKey(a))));
  if (denied.length > 0)
    return { ok: false, reason: 'ports-refused', detail: `${denied.map(portKey).join(', ')} not allowed` };
  const asked = m.clientTimeout ?? 0;
  const timeoutMs = asked > 0 ? Math.min(asked * 1000, p.maxTimeoutMs) : door.forMs;
  const seen = new Set<string>();
  const ports = m.access.filter((a) => !seen.has(portKey(a)) && seen.add(portKey(a)));
  return { ok: true, address, family: family as Family, ports, timeoutMs };
}
