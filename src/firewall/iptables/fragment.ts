import type { Chain } from './syntax.js';

/**
 * What one door contributes to an iptables-restore ruleset, for one address family.
 * The orchestrator (compile.ts) places each part; list names are the nft set names
 * under a prefix (core/kernel-names.ts).
 */
export interface IptablesFragment {
  /** The door's own chains. */
  readonly chains: readonly Chain[];
  /** Rules in SESAME-knocks (after the sweep guard) that dispatch knock packets. */
  readonly knocks: readonly string[];
  /** Rules in SESAME before any door's protection rules (hit counting on the service port). */
  readonly input: readonly string[];
  /** Rules in SESAME before the established-connection shortcut (shared-port secrets in data). */
  readonly early?: readonly string[];
  /** Rules in the `nat` table's SESAME-nat chain, jumped to from PREROUTING (shared-port redirects). */
  readonly nat?: readonly string[];
  /** The `recent` list of addresses holding a grant, and the grant lifetime. */
  readonly grant: { readonly set: string; readonly seconds: number };
  /** Knock-progress lists to clear for an address caught sweeping ports. */
  readonly progress: readonly string[];
}
