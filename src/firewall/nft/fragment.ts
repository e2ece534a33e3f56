import type { Door, Family, Plan } from '../../core/door.js';
import type { DoorNames } from '../../core/kernel-names.js';

/**
 * What one door contributes to the ruleset. The orchestrator (compile.ts) places each part:
 * sets first, then the `knocks` chain, the door's own chains, and the `input` chain.
 */
export interface NftFragment {
  readonly sets: string[];
  /** Whole chain declarations owned by the door. */
  readonly chains: string[];
  /** Rules in the `knocks` chain (after the sweep guard) that dispatch knock packets. */
  readonly knocks: string[];
  /** Rules in `input` before the established-connection shortcut (knocks on open connections). */
  readonly early: string[];
  /** Rules in `input` before any door's protection rules (e.g. hit counting on the service port). */
  readonly input: string[];
  /** Rules in a `nat prerouting` chain (shared-port redirects). */
  readonly prerouting: string[];
  /** Knock-progress sets to clear for an address caught sweeping ports. */
  readonly progressSets: (f: Family) => string[];
}

export type DoorCompiler<D extends Door = Door> = (door: D, plan: Plan, names: DoorNames) => Partial<NftFragment>;
