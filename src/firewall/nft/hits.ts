import type { Family, HitDoor, Plan } from '../../core/door.js';
import { nftDuration } from '../../core/duration.js';
import { grantSet, logPrefix } from '../nft-names.js';
import type { NftFragment } from './fragment.js';
import { chainDecl, FAMILIES, familyName, iif, saddr, setDecl } from './syntax.js';

/** Names of a hit door's sets: `h1..hN` (hits so far), `hstart` (since the first), `hearly`. */
export const hitSet = (door: string, i: number, f: Family) => `${door}_h${i}_${f}`;
export const hitStartSet = (door: string, f: Family) => `${door}_hstart_${f}`;
export const hitEarlySet = (door: string, f: Family) => `${door}_hearly_${f}`;

/** Only a bare SYN counts: not a SYN-ACK, RST or anything of an existing connection. */
export const BARE_SYN = 'tcp flags & (fin | syn | rst | ack) == syn';

/**
 * Single-port doors: SYNs to the service port are counted in the `input` chain before the
 * protection rules, so the counted SYNs are still dropped (or rejected) there, and the one
 * that completes the count adds the grant first and so is let through by the same pass.
 * Per address: `hstart` (timeout = window end) marks the first hit, `hearly` (timeout =
 * window start) says "too early", `h1..hN` hold how many hits it made.
 */
export function compileHitDoor(door: HitDoor, plan: Plan): Partial<NftFragment> {
  const { port, count } = door.hits;
  const [startMs, endMs] = door.hits.windowMs;
  const chain = `${door.name}_hits`;
  const sets: string[] = [];
  const rules: string[] = [
    '# addresses holding a grant go on to the protection rules untouched',
    ...FAMILIES.map((f) => `${saddr(f)} @${grantSet(door.name, f)} return`),
  ];
  for (const f of FAMILIES) {
    sets.push(setDecl(hitStartSet(door.name, f), f, endMs, plan.setSize));
    if (startMs > 0) sets.push(setDecl(hitEarlySet(door.name, f), f, startMs, plan.setSize));
    for (let i = 1; i <= count; i++) sets.push(setDecl(hitSet(door.name, i, f), f, endMs, plan.setSize));
    rules.push(
      `# ${familyName(f)}: ${count} SYNs, then one ${nftDuration(startMs)}..${nftDuration(endMs)} after the first`,
    );
    rules.push(...hitRules(door, f, plan));
  }
  const knocks = door.open.some((p) => p.proto === 'tcp' && p.port === port) ? [] : [{ port, proto: 'tcp' as const }];
  return {
    sets,
    chains: [chainDecl(chain, rules)],
    input: [`${iif(door)}tcp dport ${port} ${BARE_SYN} jump ${chain}`],
    // a service port the door doesn't open must still look closed
    knockPorts: knocks,
    progressSets: (f) => [hitStartSet(door.name, f), ...hitNames(door, f)],
  };
}

function hitNames(door: HitDoor, f: Family): string[] {
  return [...Array(door.hits.count).keys()].map((i) => hitSet(door.name, i + 1, f));
}

/**
 * One address's count, checked top down; every rule ends in `return`, so a SYN moves it
 * at most one step. Only the SYN after the count's last hit is timed.
 */
function hitRules(door: HitDoor, f: Family, plan: Plan): string[] {
  const a = saddr(f);
  const n = door.hits.count;
  const start = hitStartSet(door.name, f);
  const early = hitEarlySet(door.name, f);
  const hit = (i: number) => hitSet(door.name, i, f);
  const del = (set: string) => `delete @${set} { ${a} }`;
  const upd = (set: string) => `update @${set} { ${a} }`;
  // `update` also restarts the timeout of an element already there
  const timed = door.hits.windowMs[0] > 0;
  const restart = [
    ...hitNames(door, f).slice(1).map(del),
    upd(start),
    ...(timed ? [upd(early)] : []),
    upd(hit(1)),
  ].join(' ');
  const grant = `update @${grantSet(door.name, f)} { ${a} timeout ${nftDuration(door.forMs)} }`;
  const rules = [
    `${a} != @${start} ${restart} return`,
    ...(timed
      ? ['# too early (a burst): this SYN starts a new count', `${a} @${hit(n)} ${a} @${early} ${restart} return`]
      : []),
    `${a} @${hit(n)} ${del(hit(n))} ${del(start)} ${grant} log group ${plan.nflogGroup} prefix "${logPrefix('open', door.name)}" return`,
  ];
  for (let i = n - 1; i >= 1; i--) rules.push(`${a} @${hit(i)} ${del(hit(i))} ${upd(hit(i + 1))} return`);
  return rules;
}
