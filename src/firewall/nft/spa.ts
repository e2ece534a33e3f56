import type { Door, Family, Plan } from '../../core/door.js';
import { nftDuration } from '../../core/duration.js';
import { type DoorNames, spaHoldQueue, spaWaitSet } from '../../core/kernel-names.js';
import { byProto, FAMILIES, fmtPort, iif, portSet, saddr, setDecl } from './syntax.js';

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
export function perPortGrantRules(door: Door, names: DoorNames, accept = 'accept'): string[] {
  if (door.open.length === 0) return [];
  return [
    `# door ${door.name}: ${door.open.map(fmtPort).join(', ')} only for the ports an SPA packet asked for`,
    ...FAMILIES.map((f) => `${saddr(f)} . meta l4proto . th dport @${names.grant(f)} ${accept}`),
  ];
}

/**
 * How long an address counts as "just sent an SPA packet": longer than sesame takes to check
 * one (well under a millisecond, more under a flood), shorter than TCP's first SYN retransmit
 * (1 s), so a SYN that could not be held is retried after the mark is gone and meets the grant.
 */
const SPA_WAIT_MS = 800;

/**
 * Zero-RTT for SPA clients that connect at once (see sources/spa/syn-hold.ts): the sets of
 * addresses that just sent a datagram to the SPA port, and the rule that marks them. Only
 * for the UDP listener, the one fwknop's clients use by default.
 */
export function spaWaitParts(plan: Plan): { sets: string[]; input: string[] } {
  const udp = plan.spaListen?.udp;
  if (!udp || !plan.doors.some((d) => d.kind === 'spa')) return { sets: [], input: [] };
  return {
    sets: FAMILIES.map((f) => setDecl(spaWaitSet(f), f, SPA_WAIT_MS, plan.setSize)),
    input: [
      `# an SPA packet on its way: the sender's SYNs to SPA ports wait for its verdict instead of being dropped`,
      ...FAMILIES.map((f) => `udp dport ${udp} update @${spaWaitSet(f)} { ${saddr(f)} }`),
    ],
  };
}

/**
 * A SYN to an SPA door's TCP port from an address that just sent an SPA packet goes to
 * sesame's NFQUEUE, after every grant rule and before the door's drop. Without sesame bound
 * to the queue the kernel drops it, as the door would have.
 */
export function spaHoldRules(door: Door, plan: Plan): string[] {
  if (door.kind !== 'spa' || !plan.spaListen?.udp) return [];
  const tcp = byProto(door.open).find(([proto]) => proto === 'tcp')?.[1];
  if (!tcp) return [];
  return FAMILIES.map(
    (f) =>
      `${iif(door)}${saddr(f)} @${spaWaitSet(f)} tcp dport ${portSet(tcp)} tcp flags & (fin|syn|rst|ack) == syn queue num ${spaHoldQueue(plan)}`,
  );
}
