import type { Door } from './door.js';
import {
  doorNames,
  IPT_CHAIN,
  type Machine,
  NFT_CHAIN,
  recentList,
  spaWaitSet,
  sweepChain,
  sweepSet,
} from './kernel-names.js';

/**
 * What each door declares in the kernel's namespaces (kernel-names.ts gives the names), and
 * the collisions config load refuses: two doors, or a door and sesame itself, that would own
 * one set, chain, `recent` list or NFLOG prefix. Pure.
 */

/** The kernel namespaces a name lives in; a collision is two owners of one name in one space. */
export type NameSpace = 'nft set' | 'nft chain' | 'iptables chain' | 'recent list' | 'NFLOG prefix';

export interface DeclaredName {
  readonly space: NameSpace;
  readonly name: string;
}

/** Names every plan declares whatever its doors (owner: sesame itself). */
export function globalNames(): DeclaredName[] {
  return [
    ...Object.values(NFT_CHAIN).map((name) => ({ space: 'nft chain' as const, name })),
    ...([4, 6] as const).map((f) => ({ space: 'nft set' as const, name: sweepSet(f) })),
    ...([4, 6] as const).map((f) => ({ space: 'nft chain' as const, name: sweepChain(f) })),
    ...([4, 6] as const).map((f) => ({ space: 'nft set' as const, name: spaWaitSet(f) })),
    ...Object.values(IPT_CHAIN).map((name) => ({ space: 'iptables chain' as const, name })),
  ];
}

/**
 * Every kernel name door `door` (the `index`-th of its plan) declares, over both compilers.
 * Generous rather than exact: a name a compiler might use counts.
 */
export function declaredNames(door: Door, index: number): DeclaredName[] {
  const n = doorNames(door.name, index);
  const sets: string[] = [];
  const nftChains: string[] = [];
  const iptChains: string[] = [n.ipt.base];
  const prefixes: string[] = [n.logPrefix('open')];
  for (const f of [4, 6] as const) sets.push(n.grant(f));

  const machine = (m: Machine, length: number) => {
    iptChains.push(n.ipt.done(m));
    for (const f of [4, 6] as const) sets.push(n.seen(m, f));
    if (length < 2) return;
    iptChains.push(n.ipt.reset(m), n.ipt.first(m));
    for (let i = 1; i < length; i++) {
      for (const f of [4, 6] as const) sets.push(n.stage(m, i, f));
      if (i + 1 < length) iptChains.push(n.ipt.advance(m, i));
    }
    for (const f of [4, 6] as const) sets.push(n.start(m, f), n.quick(m, f), n.quickStart(m, f));
  };
  switch (door.kind) {
    case 'sequence':
    case 'one-time': {
      nftChains.push(n.knockChain);
      const knock = door.knock;
      if (knock) machine('k', knock.ports.length);
      if (door.kind === 'sequence' && door.close) {
        machine('c', door.close.ports.length);
        prefixes.push(n.logPrefix('close'));
      }
      break;
    }
    case 'hits':
      nftChains.push(n.hitChain);
      iptChains.push(n.ipt.hitFirst, n.ipt.hitDone);
      for (let i = 1; i <= door.hits.count; i++) {
        for (const f of [4, 6] as const) sets.push(n.hit(i, f));
        if (i < door.hits.count) iptChains.push(n.ipt.hitAdvance(i));
      }
      for (const f of [4, 6] as const) sets.push(n.hitStart(f), n.hitEarly(f));
      break;
    case 'shared':
      nftChains.push(n.sharedChain);
      iptChains.push(n.ipt.sharedKnock);
      if (door.shared.secretKind === 'token') {
        for (const f of [4, 6] as const) sets.push(n.tokenRate(f));
        prefixes.push(n.tokenLogPrefix);
      }
      break;
    case 'log':
    case 'http':
    case 'spa':
      break;
  }
  return [
    ...sets.map((name) => ({ space: 'nft set' as const, name })),
    ...sets.map((name) => ({ space: 'recent list' as const, name: recentList(name) })),
    ...nftChains.map((name) => ({ space: 'nft chain' as const, name })),
    ...iptChains.map((name) => ({ space: 'iptables chain' as const, name })),
    ...prefixes.map((name) => ({ space: 'NFLOG prefix' as const, name })),
  ];
}

export interface NameCollision {
  readonly space: NameSpace;
  readonly name: string;
  /** The door declaring the name first (config order), or `sesame` for a global name. */
  readonly first: string;
  readonly second: string;
}

/** Kernel names two doors (or a door and sesame itself) would both declare. */
export function nameCollisions(doors: readonly Door[]): NameCollision[] {
  const owners = new Map<string, string>();
  const out: NameCollision[] = [];
  const claim = (owner: string, d: DeclaredName) => {
    const key = `${d.space}\0${d.name}`;
    const first = owners.get(key);
    if (first === undefined) owners.set(key, owner);
    else if (first !== owner) out.push({ ...d, first, second: owner });
  };
  for (const d of globalNames()) claim('sesame', d);
  doors.forEach((door, i) => {
    for (const d of declaredNames(door, i)) claim(door.name, d);
  });
  // one message per pair of doors is enough
  const seen = new Set<string>();
  return out.filter((c) => {
    const key = `${c.first}\0${c.second}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
