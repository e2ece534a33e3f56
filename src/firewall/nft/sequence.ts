import type { Family, Plan, PortSpec, Sequence, SequenceDoor } from '../../core/door.js';
import { nftDuration } from '../../core/duration.js';
import type { DoorNames, Machine } from '../../core/kernel-names.js';
import type { NftFragment } from './fragment.js';
import {
  byProto,
  chainDecl,
  FAMILIES,
  familyName,
  fmtPort,
  iif,
  knockMatch,
  protoMatch,
  saddr,
  setDecl,
} from './syntax.js';

/** Port-sequence doors: the kernel runs the knock state machine (see sequenceRules). */
export function compileSequenceDoor(
  door: SequenceDoor,
  plan: Plan,
  names: DoorNames,
  oneTimeLine?: number,
): Partial<NftFragment> {
  const sets: string[] = [];
  const rules: string[] = [];
  for (const f of FAMILIES) {
    const grant = `@${names.grant(f)} { ${saddr(f)} timeout ${nftDuration(door.forMs)} }`;
    const open = `update ${grant} log group ${plan.nflogGroup} prefix "${names.logPrefix('open', oneTimeLine)}"`;
    rules.push(`# ${familyName(f)}: knock ${door.knock.ports.map(fmtPort).join(',')} opens`);
    rules.push(...sequenceRules(names, 'k', door.knock, f, open, plan, sets));
    if (door.close) {
      const close = `delete @${names.grant(f)} { ${saddr(f)} } log group ${plan.nflogGroup} prefix "${names.logPrefix('close')}"`;
      rules.push(`# ${familyName(f)}: knock ${door.close.ports.map(fmtPort).join(',')} closes`);
      rules.push(...sequenceRules(names, 'c', door.close, f, close, plan, sets));
    }
  }
  const knockPorts = [...door.knock.ports, ...(door.close?.ports ?? [])];
  return {
    sets,
    chains: [chainDecl(names.knockChain, rules)],
    knocks: byProto(knockPorts).map(
      ([proto, ports]) => `${iif(door)}${protoMatch(proto, ports)} jump ${names.knockChain}`,
    ),
    progressSets: (f) => progressSets(door, f, names),
  };
}

/**
 * One knock state machine. An address sits in at most one stage set; rules run from the
 * last stage down so a packet advances at most one stage. Per packet:
 *   the next port of its stage -> advance (or complete);  the port of its own stage -> ignored
 *   (a retransmitted SYN);  any other port of this sequence -> reset, and the first port restarts.
 * The start set, added on the first knock, enforces `within` for the whole sequence.
 * Packets whose TCP flags don't match are ignored: neither progress nor reset (knockd).
 */
function sequenceRules(
  names: DoorNames,
  machine: Machine,
  seq: Sequence,
  f: Family,
  complete: string,
  plan: Plan,
  sets: string[],
): string[] {
  const a = saddr(f);
  const n = seq.ports.length;
  const hit = (p: PortSpec) => knockMatch(p, seq.flags);
  if (n === 1) return [`${hit(seq.ports[0])} ${complete} return`];

  const start = names.start(machine, f);
  const stage = (i: number) => names.stage(machine, i, f);
  sets.push(setDecl(start, f, seq.withinMs, plan.setSize));
  for (let i = 1; i < n; i++) sets.push(setDecl(stage(i), f, seq.withinMs, plan.setSize));

  const rules: string[] = [];
  for (let i = n - 1; i >= 1; i--) {
    const advance =
      i + 1 === n
        ? `delete @${stage(i)} { ${a} } delete @${start} { ${a} } ${complete}`
        : `delete @${stage(i)} { ${a} } update @${stage(i + 1)} { ${a} }`;
    rules.push(`${hit(seq.ports[i])} ${a} @${stage(i)} ${a} @${start} ${advance} return`);
    rules.push(`${hit(seq.ports[i - 1])} ${a} @${stage(i)} return`);
  }
  const resetAll = [...Array(n - 1).keys()].map((i) => `delete @${stage(i + 1)} { ${a} }`);
  for (const [proto, ports] of byProto(seq.ports)) {
    rules.push(`${protoMatch(proto, ports, seq.flags)} ${[...resetAll, `delete @${start} { ${a} }`].join(' ')}`);
  }
  rules.push(`${hit(seq.ports[0])} update @${stage(1)} { ${a} } update @${start} { ${a} } return`);
  return rules;
}

function progressSets(door: SequenceDoor, f: Family, names: DoorNames): string[] {
  const out: string[] = [];
  for (const [m, seq] of [
    ['k', door.knock],
    ['c', door.close],
  ] as const) {
    if (!seq || seq.ports.length < 2) continue;
    for (let i = 1; i < seq.ports.length; i++) out.push(names.stage(m, i, f));
    out.push(names.start(m, f));
  }
  return out;
}
