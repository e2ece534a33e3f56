import type { Door, Family, Proto, Reply, TcpFlagMatch } from '../../core/door.js';
import { humanDuration } from '../../core/duration.js';
import { recentList } from '../../core/kernel-names.js';
import { interfaceName } from '../ruleset-text.js';
import { SesameError } from '../../core/sesame-error.js';

/** Small pure helpers that spell iptables-restore syntax; shared by the door compilers in this folder. */

/** A door the iptables backend can't express (e.g. a time that isn't whole seconds). */
export class IptablesCompileError extends SesameError {
  static override readonly code = 'E_COMPILE';
  override readonly name = 'IptablesCompileError';
  constructor(
    readonly door: string,
    message: string,
  ) {
    super(`door "${door}": ${message}`);
  }
}

/** One user chain: its name and its rules (each without the `-A NAME` head). */
export interface Chain {
  readonly name: string;
  readonly rules: readonly string[];
}

/**
 * `recent` counts whole seconds (`--seconds`), so a time that isn't one can't be compiled.
 * Rounding would silently change a door's meaning.
 */
export function wholeSeconds(door: string, what: string, ms: number): number {
  if (ms % 1000 !== 0 || ms < 1000) {
    throw new IptablesCompileError(
      door,
      `${what} ${humanDuration(ms)} is not a whole number of seconds; the iptables \`recent\` module counts whole seconds`,
    );
  }
  return ms / 1000;
}

export const recentSet = (set: string) => `-m recent --name ${recentList(set)} --set`;
export const recentRemove = (set: string) => `-m recent --name ${recentList(set)} --remove`;
/** Matches while the address's newest stamp in `set` is younger than `seconds`. */
export const recentSeen = (set: string, seconds: number, negate = false) =>
  `-m recent --name ${recentList(set)} ${negate ? '! ' : ''}--rcheck --seconds ${seconds}`;

export const iif = (door: Door) => (door.interface ? `-i ${interfaceName(door.interface)} ` : '');
export const ctNew = '-m conntrack --ctstate NEW';

/** `-p tcp --dport 22` or `-p tcp -m multiport --dports 22,80`; multiport takes 15 ports a rule. */
export function portMatches(proto: Proto, ports: readonly number[], flags?: TcpFlagMatch): string[] {
  const out: string[] = [];
  for (let i = 0; i < ports.length; i += 15) {
    const chunk = ports.slice(i, i + 15);
    const dport = chunk.length === 1 ? `--dport ${chunk[0]}` : `-m multiport --dports ${chunk.join(',')}`;
    out.push(`-p ${proto} ${dport}${proto === 'tcp' && flags ? ` ${tcpFlags(flags)}` : ''}`);
  }
  return out;
}

/** knockd's tcpflags: listed flags set, negated flags clear, others ignored. */
export function tcpFlags(flags: TcpFlagMatch): string {
  const up = (xs: readonly string[]) => xs.map((x) => x.toUpperCase()).join(',');
  return `--tcp-flags ${up([...flags.set, ...flags.clear])} ${flags.set.length ? up(flags.set) : 'NONE'}`;
}

export function verdict(reply: Reply, proto: Proto, f: Family): string {
  if (reply === 'drop') return '-j DROP';
  if (proto === 'tcp') return '-j REJECT --reject-with tcp-reset';
  return `-j REJECT --reject-with ${f === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable'}`;
}

export const nflog = (group: number, prefix: string) => `-j NFLOG --nflog-group ${group} --nflog-prefix "${prefix}"`;
