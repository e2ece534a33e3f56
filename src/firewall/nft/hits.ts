import type { Family, HitDoor, Plan } from '../../core/door.js';
import { nftDuration } from '../../core/duration.js';
import type { DoorNames } from '../../core/kernel-names.js';
import type { NftFragment } from './fragment.js';
import { chainDecl, FAMILIES, familyName, iif, saddr, setDecl } from './syntax.js';

/** Only a bare SYN counts: not a SYN-ACK, RST or anything of an existing connection. */
export const BARE_SYN = 'tcp flags & (fin | syn | rst | ack) == syn';

/**
 * Single-port doors: SYNs to the service port are counted in the `input` chain before the
 * protection rules, so the counted SYNs are still dropped (or rejected) there, and the one
 * that completes the count adds the grant first and so is let through by the same pass.
 * A hit port the door doesn't open is a knock port like any other: its SYNs go on to the stack.
 * Per address: `hstart` (timeout = window end) marks the first hit, `hearly` (timeout =
 * window start) says "too early", `h1..hN` hold how many hits it made.
 */
export function compileHitDoor(door: HitDoor, plan: Plan, names: DoorNames): Partial<NftFragment> {
  const { port, count } = door.hits;
  const [startMs, endMs] = door.hits.windowMs;
  const chain = names.hitChain;
  const sets: string[] = [];
  const rules: string[] = [
    '# addresses holding a grant go on to the protection rules untouched',
    ...FAMILIES.map((f) => `${saddr(f)} @${names.grant(f)} return`),
  ];
  for (const f of FAMILIES) {
    sets.push(setDecl(names.hitStart(f), f, endMs, plan.setSize));
    if (startMs > 0) sets.push(setDecl(names.hitEarly(f), f, startMs, plan.setSize));
    for (let i = 1; i <= count; i++) sets.push(setDecl(names.hit(i, f), f, endMs, plan.setSize));
    rules.push(
      `# ${familyName(f)}: ${count} SYNs, then one ${nftDuration(startMs)}..${nftDuration(endMs)} after the first`,
    );
    rules.push(...hitRules(door, f, plan, names));
  }
  return {
    sets,
    chains: [chainDecl(chain, rules)],
    input: [`${iif(door)}tcp dport ${port} ${BARE_SYN} jump ${chain}`],
    progressSets: (f) => [names.hitStart(f), ...hitNames(door, f, names)],
  };
}

function hitNames(door: HitDoor, f: Family, names: DoorNames): string[] {
  return [...Array(door.hits.count).keys()].map((i) => names.hit(i + 1, f));
}

/**
 * One address's count, checked top down; every rule ends in `return`, so a SYN moves it
 * at most one step. Only the SYN after the count's last hit is timed.
 */
function hitRules(door: HitDoor, f: Family, plan: Plan, names: DoorNames): string[] {
  const a = saddr(f);
  const n = door.hits.count;
  const start = names.hitStart(f);
  const early = names.hitEarly(f);
  const hit = (i: number) => names.hit(i, f);
  const del = (set: string) => `delete @${set} { ${a} }`;
  const upd = (set: string) => `update @${set} { ${a} }`;
  // `update` also restarts the timeout of an element already there
  const timed = door.hits.windowMs[0] > 0;
  const restart = [
    ...hitNames(door, f, names).slice(1).map(del),
    upd(start),
    ...(timed ? [upd(early)] : []),
    upd(hit(1)),
  ].join(' ');
  const grant = `update @${names.grant(f)} { ${a} timeout ${nftDuration(door.forMs)} }`;
  const rules = [
    `${a} != @${start} ${restart} return`,
    ...(timed
      ? ['# too early (a burst): this SYN starts a new count', `${a} @${hit(n)} ${a} @${early} ${restart} return`]
      : []),
    `${a} @${hit(n)} ${del(hit(n))} ${del(start)} ${grant} log group ${plan.nflogGroup} prefix "${names.logPrefix('open')}" return`,
  ];
  for (let i = n - 1; i >= 1; i--) rules.push(`${a} @${hit(i)} ${del(hit(i))} ${upd(hit(i + 1))} return`);
  return rules;
}
