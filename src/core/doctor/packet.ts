import type { Family, Proto } from '../door.js';

/**
 * What `sesame doctor` asks of another firewall: what happens to a new connection (a SYN,
 * or a first UDP datagram) from an ordinary client to a port sesame protects. The client is
 * "anyone": not loopback, not in another firewall's own allow lists.
 */
export interface Probe {
  readonly family: Family;
  readonly proto: Proto;
  readonly port: number;
  /** The packet mark it carries: sesame's `grant_mark` for a grant holder's packet, else 0. */
  readonly mark?: number;
}

/** The outcome in one firewall chain, and where it was decided (for the message and the fix). */
export interface ChainOutcome {
  /** drop: the connection never arrives; dnat: it is sent elsewhere, past sesame's input chain. */
  readonly verdict: 'accept' | 'drop' | 'dnat';
  /** `table ip filter, chain INPUT` */
  readonly chain: string;
  /** `rule 12 in ufw-user-input` or `policy drop` */
  readonly by: string;
  /**
   * false: the chain runs before sesame's input chain (prerouting, or a lower priority), so a
   * grant holder's packet is not yet marked there and a grant_mark accept can't help.
   */
  readonly seesMark: boolean;
  /** Which tool made it, from table and chain names: picks the fix. */
  readonly tool: 'firewalld' | 'ufw' | 'docker' | 'nftables' | 'iptables' | 'iptables-legacy';
}

export const probeText = (p: Probe) => `${p.proto}/${p.port} (IPv${p.family})`;

/** The tool that made a table, told by the chain names it leaves (`ufw-user-input`, `DOCKER-USER`). */
export function toolOfChains(names: readonly string[]): 'ufw' | 'docker' | undefined {
  if (names.some((n) => n.startsWith('ufw'))) return 'ufw';
  if (names.some((n) => n.startsWith('DOCKER'))) return 'docker';
  return undefined;
}
