import { parseGrantSet } from '../../core/kernel-names.js';

/*
 * What `nft -j list` says about sesame's table, for the questions the CLI asks: which doors
 * are loaded, and what a door's grant set looks like. Pure (the backend runs nft).
 */

/** A door's grant set as loaded. */
export interface GrantSetInfo {
  /** Per-port sets (`address . proto . port`, SPA doors) hold one element per port. */
  readonly perPort: boolean;
  /** The set's default timeout (a grant's lifetime), 0 when it has none. */
  readonly timeoutMs: number;
}

interface ListedSet {
  readonly name?: string;
  readonly type?: unknown;
  readonly timeout?: number;
}

const setsOf = (json: string): ListedSet[] =>
  ((JSON.parse(json).nftables ?? []) as { set?: ListedSet }[]).flatMap((item) => (item.set ? [item.set] : []));

/** The doors a `nft -j list table` names, from their grant sets, in listing order. */
export function listedDoors(json: string): string[] {
  const doors = setsOf(json).flatMap((s) => parseGrantSet(s.name ?? '')?.door ?? []);
  return [...new Set(doors)];
}

/** The first set of a `nft -j list set` answer as a grant set. */
export function parseGrantSetInfo(json: string): GrantSetInfo {
  const set = setsOf(json)[0];
  return {
    perPort: set?.type !== 'ipv4_addr' && set?.type !== 'ipv6_addr',
    timeoutMs: (set?.timeout ?? 0) * 1000,
  };
}
