import type { Door, Family, Plan, PortSpec, Proto, Reply, TcpFlagMatch } from '../../core/door.js';
import { nftDuration } from '../../core/duration.js';
import { interfaceName } from '../ruleset-text.js';

/** Small pure helpers that spell nft syntax; shared by every door kind's compiler. */

export const FAMILIES: readonly Family[] = [4, 6];
export const saddr = (f: Family) => (f === 4 ? 'ip saddr' : 'ip6 saddr');
export const familyName = (f: Family) => (f === 4 ? 'IPv4' : 'IPv6');
export const iif = (door: Door) => (door.interface ? `iifname "${interfaceName(door.interface)}" ` : '');

export function verdict(reply: Reply, proto: Proto): string {
  if (reply === 'drop') return 'drop';
  return proto === 'tcp' ? 'reject with tcp reset' : 'reject with icmpx port-unreachable';
}

/**
 * A grant holder's verdict: accept, with `grant_mark` set first for a firewall kept beside
 * sesame. The mark goes on the connection too (ct mark), so its later packets, which sesame
 * accepts as established, carry it as well (grantMarkRestore): a kept table with no rule for
 * established traffic sees every packet of the connection, not only the first.
 */
export function grantAccept(plan: Pick<Plan, 'grantMark'>): string {
  if (!plan.grantMark) return 'accept';
  const m = hex(plan.grantMark);
  return `ct mark set ct mark or ${m} meta mark set meta mark or ${m} accept`;
}

/** Before the established shortcut: a granted connection's later packets get grant_mark again. */
export function grantMarkRestore(plan: Pick<Plan, 'grantMark'>): string[] {
  if (!plan.grantMark) return [];
  const m = hex(plan.grantMark);
  return [
    "# grant_mark on every packet of a granted connection, for a kept firewall's accept",
    `ct state established,related ct mark and ${m} == ${m} meta mark set meta mark or ${m} accept`,
  ];
}

const hex = (n: number) => `0x${n.toString(16)}`;

export function knockMatch(p: PortSpec, flags: TcpFlagMatch): string {
  return protoMatch(p.proto, [p.port], flags);
}

export function protoMatch(proto: Proto, ports: readonly number[], flags?: TcpFlagMatch): string {
  const dport = `${proto} dport ${portSet(ports)}`;
  return proto === 'tcp' && flags ? `${dport} ${flagMatch(flags)}` : dport;
}

/** knockd semantics: listed flags set, negated flags clear, others ignored. */
export function flagMatch(flags: TcpFlagMatch): string {
  const mask = [...flags.set, ...flags.clear];
  const value = flags.set.length ? flags.set.join(' | ') : '0x0';
  const group = (xs: readonly string[], text: string) => (xs.length > 1 ? `(${text})` : text);
  return `tcp flags & ${group(mask, mask.join(' | '))} == ${group(flags.set, value)}`;
}

/** Groups ports by protocol, deduplicated and sorted: `[['tcp', [22, 80]], ['udp', [53]]]`. */
export function byProto(ports: readonly PortSpec[]): [Proto, number[]][] {
  const out: [Proto, number[]][] = [];
  for (const proto of ['tcp', 'udp'] as const) {
    const list = [...new Set(ports.filter((p) => p.proto === proto).map((p) => p.port))].sort((a, b) => a - b);
    if (list.length) out.push([proto, list]);
  }
  return out;
}

export const portSet = (ports: readonly number[]) =>
  ports.length === 1 ? String(ports[0]) : `{ ${ports.join(', ')} }`;
export const fmtPort = (p: PortSpec) => (p.proto === 'tcp' ? String(p.port) : `${p.port}/udp`);

/** `gcIntervalMs`: how often the kernel collects expired elements (default 1 s); until then they count against `size`. */
export function setDecl(name: string, f: Family, timeoutMs: number, size: number, gcIntervalMs?: number): string {
  const type = f === 4 ? 'ipv4_addr' : 'ipv6_addr';
  const gc = gcIntervalMs ? ` gc-interval ${nftDuration(gcIntervalMs)};` : '';
  return `set ${name} { type ${type}; flags dynamic,timeout; timeout ${nftDuration(timeoutMs)};${gc} size ${size}; }`;
}

/** The name a `set NAME { ... }` or `chain NAME { ... }` declaration declares. */
export function declaredName(decl: string): string {
  const m = /^(?:set|chain) (\S+) \{/.exec(decl);
  if (!m) throw new Error(`not a set or chain declaration: ${decl.split('\n')[0]}`);
  return m[1];
}

export function chainDecl(name: string, body: readonly string[]): string {
  return [`chain ${name} {`, ...body.map((l) => indent(l)), '}'].join('\n');
}

export function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `\t${l}`)
    .join('\n');
}

/**
 * The kernel refuses a rule with more than about 36 `delete @set { ip saddr }` statements
 * ("File too large", measured on Linux 6.18), so long lists of resets are spread over rules of
 * this many: the sweep guard's (one per knock-progress set of every door, in a chain entered
 * with `goto`; with all of them in one rule, 19 sequence doors made the whole ruleset fail to
 * load) and a long sequence door's own reset.
 */
export const RESETS_PER_RULE = 24;

export function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}
