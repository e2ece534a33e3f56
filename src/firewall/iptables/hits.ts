import type { Family, HitDoor, Plan } from '../../core/door.js';
import type { DoorNames } from '../../core/kernel-names.js';
import type { IptablesFragment } from './fragment.js';
import { type Chain, iif, nflog, recentRemove, recentSeen, recentSet, wholeSeconds } from './syntax.js';

/**
 * Single-port doors with `recent`, the same count as the nft compiler (nft/hits.ts): the
 * door's chain sees bare SYNs to the service port before the protection rules; `hstart`
 * holds the time of the count's first hit, `h1..hN` how many hits it made.
 */
export function hitsIptables(door: HitDoor, names: DoorNames, f: Family, plan: Plan): IptablesFragment {
  const { port, count: n } = door.hits;
  const early = door.hits.windowMs[0] === 0 ? 0 : wholeSeconds(door.name, 'window start', door.hits.windowMs[0]);
  const end = wholeSeconds(door.name, 'window end', door.hits.windowMs[1]);
  const forS = wholeSeconds(door.name, 'for', door.forMs);
  const base = names.ipt.base;
  const grant = names.grant(f);
  const start = names.hitStart(f);
  const hit = (i: number) => names.hit(i, f);
  const hits = [...Array(n).keys()].map((i) => hit(i + 1));
  const first = names.ipt.hitFirst;
  const done = names.ipt.hitDone;

  const chains: Chain[] = [
    { name: first, rules: [...[...hits, start].map(recentRemove), `${recentSet(start)} ${recentSet(hit(1))}`] },
    {
      name: done,
      rules: [
        recentRemove(hit(n)),
        recentRemove(start),
        recentSet(grant),
        nflog(plan.nflogGroup, names.logPrefix('open')),
      ],
    },
  ];
  const rules = [
    `${recentSeen(grant, forS)} -j RETURN`,
    `${recentSeen(start, end, true)} -g ${first}`,
    ...(early ? [`${recentSeen(hit(n), end)} ${recentSeen(start, early)} -g ${first}`] : []),
    `${recentSeen(hit(n), end)} -g ${done}`,
  ];
  for (let i = n - 1; i >= 1; i--) {
    const adv = names.ipt.hitAdvance(i);
    chains.push({ name: adv, rules: [recentRemove(hit(i)), recentSet(hit(i + 1))] });
    rules.push(`${recentSeen(hit(i), end)} -g ${adv}`);
  }
  chains.unshift({ name: base, rules });
  return {
    chains,
    knocks: [],
    input: [`${iif(door)}-p tcp --dport ${port} --syn -j ${base}`],
    grant: { set: grant, seconds: forS },
    progress: [start, ...hits],
  };
}
