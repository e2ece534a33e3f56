import type { Door, Family, Plan } from './door.js';
import { DOOR_NAME, DOOR_NAME_RULE } from './door-name.js';
import { SesameError } from './sesame-error.js';

/**
 * Every name sesame gives a kernel object, in one place: the nft table, its sets and chains,
 * NFLOG prefixes, the iptables chains and `recent` lists. The compilers, the loader, `status`
 * and config validation all take names from here, so two doors can never share an object by
 * accident (name-collisions.ts lists what each door declares; config load refuses overlaps).
 * Pure; no I/O.
 */

// ---- nftables -------------------------------------------------------------------------

export const TABLE = 'sesame';
export const TABLE_REF = `inet ${TABLE}`;
/** A table only dry-run (`nft -c`) to ask the kernel what it supports; never loaded. */
export const PROBE_TABLE = 'sesame_probe';

/**
 * The input chain's priority (`filter - 5`): before the host's own filter chains, so a
 * grant holder's packet carries grant_mark when they see it; a chain of lower priority (or on
 * prerouting) sees it unmarked.
 */
export const INPUT_PRIORITY = -5;

/**
 * conntrack mark bit meaning "this connection's first data packet was looked at" (shared-port
 * doors). Only this bit is set (`ct mark | bit`); grant_mark may not use it, since a grant
 * sets its own bits in the connection's mark too.
 */
export const SEEN_MARK = 0x40000000;

/** Chains of the nft table that belong to no door. */
export const NFT_CHAIN = { knocks: 'knocks', input: 'input', prerouting: 'prerouting' } as const;

/** The scan guard's per-address rate meter (one per family), shared by every door. */
export const sweepSet = (f: Family) => `sweep_${f}`;
/** The chain that clears every door's knock progress of an address caught sweeping. */
export const sweepChain = (f: Family) => `sweep_reset_${f}`;

/**
 * SPA zero-RTT hold: addresses that just sent a datagram to the SPA port (one set per family),
 * and the NFQUEUE their SYNs to SPA doors' ports wait in. The queue takes the NFLOG group's
 * number (a different kernel namespace), so one config number names both.
 */
export const spaWaitSet = (f: Family) => `spa_wait_${f}`;
export const spaHoldQueue = (plan: Pick<Plan, 'nflogGroup'>) => plan.nflogGroup;

/** A door's two knock state machines: `k` opens, `c` (the close sequence) closes. */
export type Machine = 'k' | 'c';

/** NFLOG events the daemon reads from the default group. */
export type LogEvent = 'open' | 'close';

// ---- iptables -------------------------------------------------------------------------

/** Chains of the iptables output that belong to no door, and the scan guard's hashlimit. */
export const IPT_CHAIN = { main: 'SESAME', knocks: 'SESAME-knocks', sweep: 'SESAME-sweep', nat: 'SESAME-nat' } as const;
export const SWEEP_HASHLIMIT = 'sesame_sweep';
/** iptables chain names are at most 28 characters (XT_EXTENSION_MAXNAMELEN - 1). */
const IPT_CHAIN_MAX = 28;
/** Longest door name that fits `S-<door>` plus the longest suffix (`-kadv31`). */
const IPT_NAMED_BASE_MAX = 18;

/** A `recent` list: the nft set's name under a `sesame_` prefix (lists are global per netns). */
export const recentList = (set: string) => `sesame_${set}`;

// ---- door names -----------------------------------------------------------------------

/**
 * Characters a door name may have. Door names go unquoted into set and chain names and
 * inside quoted NFLOG prefixes, so nothing else may reach kernel text (config validation
 * and the knockd importer already keep to this; this is the last line).
 */
export class UnsafeNameError extends SesameError {
  static override readonly code = 'E_NAME';
  override readonly name = 'UnsafeNameError';
  constructor(readonly doorName: string) {
    super(`door name ${JSON.stringify(doorName)} can't be a kernel name: ${DOOR_NAME_RULE}`);
  }
}

/** Every kernel name of one door. */
export interface DoorNames {
  readonly door: string;
  /**
   * The grant set: addresses (or, for doors that grant per port, `address . proto . port`,
   * see `grantsPerPort`) with the grant lifetime as timeout.
   */
  grant(f: Family): string;
  /** Sequence stage `i` (1-based) of machine `m`, and the start set enforcing `within`. */
  stage(m: Machine, i: number, f: Family): string;
  start(m: Machine, f: Family): string;
  /**
   * The flood lane of machine `m`: a first knock that finds the first stage full waits here
   * for only a second (`quick`), and its start set (`quickStart`) is filled from the
   * second knock on, which a flood of first knocks can't reach.
   */
  quick(m: Machine, f: Family): string;
  quickStart(m: Machine, f: Family): string;
  /** `address . sport . dport` of knocks already counted on a tcp port the sequence repeats. */
  seen(m: Machine, f: Family): string;
  /** Hit doors: `h1..hN` (hits so far), `hstart` (since the first), `hearly` (too early). */
  hit(i: number, f: Family): string;
  hitStart(f: Family): string;
  hitEarly(f: Family): string;
  /** Token shared-port doors: per-source rate meter of logged token knocks. */
  tokenRate(f: Family): string;
  readonly knockChain: string;
  readonly hitChain: string;
  readonly sharedChain: string;
  /** `sesame open web`, `sesame close web`; one-time doors add the file line (`#7`). */
  logPrefix(event: LogEvent, line?: number): string;
  /** Prefix of a token door's knock packets in its own NFLOG group. */
  readonly tokenLogPrefix: string;
  /** iptables chains: the door's base chain and its helper chains. */
  readonly ipt: IptablesDoorChains;
}

export interface IptablesDoorChains {
  /** `S-<door>`, or `S<index>` when the name is too long for the suffixes to fit. */
  readonly base: string;
  /** Sequence machine `m`: completes, advances past stage `i`, resets, first knock. */
  done(m: Machine): string;
  advance(m: Machine, i: number): string;
  reset(m: Machine): string;
  first(m: Machine): string;
  /** Hit doors: first hit of a count, count complete, hit `i` -> `i+1`. */
  readonly hitFirst: string;
  readonly hitDone: string;
  hitAdvance(i: number): string;
  /** Shared-port doors: the secret was seen. */
  readonly sharedKnock: string;
}

/** A door's grant set (what the daemon adds grants to by door name). */
export function grantSet(door: string, f: Family): string {
  if (!DOOR_NAME.test(door)) throw new UnsafeNameError(door);
  return `${door}_open_${f}`;
}

/** The kernel names of door `name`, which is `index`-th in its plan (iptables needs the index). */
export function doorNames(name: string, index: number): DoorNames {
  if (!DOOR_NAME.test(name)) throw new UnsafeNameError(name);
  const set = (suffix: string, f: Family) => `${name}_${suffix}_${f}`;
  const base = name.length <= IPT_NAMED_BASE_MAX ? `S-${name}` : `S${index}`;
  const chain = (suffix: string) => {
    const c = `${base}-${suffix}`;
    if (c.length > IPT_CHAIN_MAX) throw new Error(`iptables chain name ${c} is longer than ${IPT_CHAIN_MAX}`);
    return c;
  };
  return {
    door: name,
    grant: (f) => grantSet(name, f),
    stage: (m, i, f) => set(`${m}${i}`, f),
    start: (m, f) => set(`${m}start`, f),
    quick: (m, f) => set(`${m}q`, f),
    quickStart: (m, f) => set(`${m}qstart`, f),
    seen: (m, f) => set(`${m}seen`, f),
    hit: (i, f) => set(`h${i}`, f),
    hitStart: (f) => set('hstart', f),
    hitEarly: (f) => set('hearly', f),
    tokenRate: (f) => set('tokrate', f),
    knockChain: `${name}_knock`,
    hitChain: `${name}_hits`,
    sharedChain: `${name}_shared`,
    logPrefix: (event, line) => `sesame ${event} ${name}${line ? ` #${line}` : ''}`,
    tokenLogPrefix: `sesame token ${name}`,
    ipt: {
      base,
      done: (m) => chain(`${m}done`),
      advance: (m, i) => chain(`${m}adv${i}`),
      reset: (m) => chain(`${m}reset`),
      first: (m) => chain(`${m}first`),
      hitFirst: chain('first'),
      hitDone: chain('done'),
      hitAdvance: (i) => chain(`adv${i}`),
      sharedKnock: chain('knock'),
    },
  };
}

/** The names of every door of a plan, by door name. */
export function planNames(plan: Pick<Plan, 'doors'>): Map<string, DoorNames> {
  return new Map(plan.doors.map((d, i) => [d.name, doorNames(d.name, i)]));
}

/**
 * Whether a door's grant set is keyed by `address . proto . port` (a grant names its ports,
 * as an SPA request does: `ip saddr . meta l4proto . th dport @<door>_open_4`) instead of by
 * address alone. SPA doors do; every other kind grants all its `open` ports to an address.
 */
export function grantsPerPort(door: Door): boolean {
  return door.kind === 'spa';
}

/** The grant sets a plan declares (what a reload may carry running grants into). */
export function grantSets(plan: Pick<Plan, 'doors'>): Set<string> {
  return new Set([...planNames(plan).values()].flatMap((n) => [n.grant(4), n.grant(6)]));
}

/** Parses a grant set name back into door and family; null for other sets. */
export function parseGrantSet(name: string): { door: string; family: Family } | null {
  const m = /^([A-Za-z][A-Za-z0-9_-]*)_open_(4|6)$/.exec(name);
  return m ? { door: m[1], family: Number(m[2]) as Family } : null;
}

/** The inverse of `DoorNames.logPrefix` (NFLOG pads prefixes with NULs). */
export function parseLogPrefix(prefix: string): { event: LogEvent; door: string; line?: number } | null {
  const m = /^sesame (open|close) (\S+)(?: #(\d+))?$/.exec(prefix.replace(/\0+$/, '').trim());
  if (!m) return null;
  return { event: m[1] as LogEvent, door: m[2], ...(m[3] ? { line: Number(m[3]) } : {}) };
}
