import type { Family, HitDoor, Plan } from '../../core/door.js';
import { hitSet, hitStartSet } from '../nft/hits.js';
import { grantSet, logPrefix } from '../nft-names.js';
import type { IptablesFragment } from './fragment.js';
import { type Chain, chainBase, iif, nflog, recentRemove, recentSeen, recentSet, wholeSeconds } from './syntax.js';

/**
 * Single-port doors with `recent`, the same count as the nft compiler (nft/hits.ts): the
 * door's chain sees bare SYNs to the service port before the protection rules; `hstart`
 * holds the time of the count's first hit, `h1..hN` how many hits it made.
 */
export function hitsIptables(door: HitDoor, index: number, f: Family, plan: Plan): IptablesFragment {
  const { port, count: n } = door.hits;
  const early = door.hits.windowMs[0] === 0 ? 0 : wholeSeconds(door.name, 'window start', door.hits.windowMs[0]);
  const end = wholeSeconds(door.name, 'window end', door.hits.windowMs[1]);
  const forS = wholeSeconds(door.name, 'for', door.forMs);
  const base = chainBase(door, index);
  const grant = grantSet(door.name, f);
  const start = hitStartSet(door.name, f);
  const hit = (i: number) => hitSet(door.name, i, f);
  const hits = [...Array(n).keys()].map((i) => hit(i + 1));
  const first = `${base}-first`;
  const done = `${base}-done`;

  const chains: Chain[] = [
    { name: first, rules: [...[...hits, start].map(recentRemove), `${recentSet(start)} ${recentSet(hit(1))}`] },
    {
      name: done,
      rules: [
        recentRemove(hit(n)),
        recentRemove(start),
        recentSet(grant),
        nflog(plan.nflogGroup, logPrefix('open', door.name)),
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
    const adv = `${base}-adv${i}`;
    chains.push({ name: adv, rules: [recentRemove(hit(i)), recentSet(hit(i + 1))] });
    rules.push(`${recentSeen(hit(i), end)} -g ${adv}`);
  }
  chains.unshift({ name: base, rules });
  const opensPort = door.open.some((p) => p.proto === 'tcp' && p.port === port);
  return {
    chains,
    knocks: [],
    input: [`${iif(door)}-p tcp --dport ${port} --syn -j ${base}`],
    knockPorts: opensPort ? [] : [{ port, proto: 'tcp' }],
    grant: { set: grant, seconds: forS },
    progress: [start, ...hits],
  };
}
