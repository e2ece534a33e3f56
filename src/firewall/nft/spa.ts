import type { Door, Family } from '../../core/door.js';
import { nftDuration } from '../../core/duration.js';
import type { DoorNames } from '../../core/kernel-names.js';
import { FAMILIES, fmtPort, iif, saddr } from './syntax.js';

/**
 * SPA doors grant per port: a packet asks for `tcp/22` (or several ports) and gets exactly
 * those, so the grant set is keyed by `address . proto . port` and the daemon adds
 * `198.18.0.2 . tcp . 22 timeout 30s`; the kernel expires each element on its own.
 */

export function perPortGrantSetDecl(name: string, f: Family, timeoutMs: number, size: number): string {
  const addr = f === 4 ? 'ipv4_addr' : 'ipv6_addr';
  return `set ${name} { type ${addr} . inet_proto . inet_service; flags timeout; timeout ${nftDuration(timeoutMs)}; size ${size}; }`;
}

/** Accept rules for holders of a per-port grant (the deny rules are every door's). */
export function perPortGrantRules(door: Door, names: DoorNames): string[] {
  if (door.open.length === 0) return [];
  return [
    `# door ${door.name}: ${door.open.map(fmtPort).join(', ')} only for the ports an SPA packet asked for`,
    ...FAMILIES.map((f) => `${iif(door)}${saddr(f)} . meta l4proto . th dport @${names.grant(f)} accept`),
  ];
}
