import type { Family, Plan, PortSpec, Sequence, SequenceDoor } from '../../core/door.js';
import { byProto } from '../nft/syntax.js';
import type { DoorNames, Machine } from '../../core/kernel-names.js';
import { knocksOnOpenConnections } from '../../core/tcp-flags.js';
import type { IptablesFragment } from './fragment.js';
import { repeatedTcpPorts } from '../nft/sequence.js';
import {
  type Chain,
  IptablesCompileError,
  iif,
  nflog,
  portMatches,
  recentRemove,
  recentSeen,
  recentSet,
  wholeSeconds,
} from './syntax.js';

/**
 * Port-sequence doors with the `recent` module, the same state machine as the nft compiler
 * (nft/sequence.ts): one list per stage, a start list for `within`, rules from the last stage
 * down. Actions with several steps live in small chains entered with `-g` (goto), so when they
 * end, evaluation goes back to the chain that jumped into the door's chain, like nft's `return`.
 */
export function sequenceIptables(door: SequenceDoor, names: DoorNames, f: Family, plan: Plan): IptablesFragment {
  const base = names.ipt.base;
  const forS = wholeSeconds(door.name, 'for', door.forMs);
  const grant = names.grant(f);
  const chains: Chain[] = [];
  const rules: string[] = [];

  const machines = [['k', door.knock] as const, ...(door.close ? [['c', door.close] as const] : [])];
  if (machines.some(([, seq]) => repeatedTcpPorts(seq).length > 0))
    throw new IptablesCompileError(
      door.name,
      "a tcp port repeated in a sequence needs nftables (sesame serve or --format nft): iptables' recent lists can't tell a new knock from a retransmitted SYN",
    );
  if (machines.some(([, seq]) => knocksOnOpenConnections(seq.flags)))
    throw new IptablesCompileError(
      door.name,
      "tcp flags without syn need nftables (sesame serve or --format nft): their knocks can be packets of open connections, and iptables' recent lists would count every packet of one as a knock",
    );
  for (const [m, seq] of machines) {
    const complete =
      m === 'k'
        ? [recentSet(grant), nflog(plan.nflogGroup, names.logPrefix('open'))]
        : [recentRemove(grant), nflog(plan.nflogGroup, names.logPrefix('close'))];
    rules.push(...machineRules(door.name, names, m, seq, f, complete, chains));
  }
  const knockPorts = [...door.knock.ports, ...(door.close?.ports ?? [])];
  chains.unshift({ name: base, rules });
  return {
    chains,
    knocks: byProto(knockPorts).flatMap(([proto, ports]) =>
      portMatches(proto, ports).map((m) => `${iif(door)}${m} -j ${base}`),
    ),
    input: [],
    grant: { set: grant, seconds: forS },
    progress: machines.flatMap(([m, seq]) =>
      seq.ports.length < 2 ? [] : [...stages(names, m, seq, f), names.start(m, f)],
    ),
  };
}

const stages = (names: DoorNames, m: Machine, seq: Sequence, f: Family) =>
  [...Array(seq.ports.length - 1).keys()].map((i) => names.stage(m, i + 1, f));

/** One knock state machine; `complete` are the rules run when the sequence is done. */
function machineRules(
  door: string,
  names: DoorNames,
  m: Machine,
  seq: Sequence,
  f: Family,
  complete: readonly string[],
  chains: Chain[],
): string[] {
  const n = seq.ports.length;
  const hit = (p: PortSpec) => portMatches(p.proto, [p.port], seq.flags)[0];
  const done = names.ipt.done(m);
  if (n === 1) {
    chains.push({ name: done, rules: complete });
    return [`${hit(seq.ports[0])} -g ${done}`];
  }

  const w = wholeSeconds(door, 'within', seq.withinMs);
  const start = names.start(m, f);
  const stage = (i: number) => names.stage(m, i, f);
  const all = stages(names, m, seq, f);
  chains.push({ name: done, rules: [recentRemove(stage(n - 1)), recentRemove(start), ...complete] });
  const rules: string[] = [];
  for (let i = n - 1; i >= 1; i--) {
    const target = i + 1 === n ? done : names.ipt.advance(m, i);
    if (target !== done) chains.push({ name: target, rules: [recentRemove(stage(i)), recentSet(stage(i + 1))] });
    rules.push(`${hit(seq.ports[i])} ${recentSeen(stage(i), w)} ${recentSeen(start, w)} -g ${target}`);
    rules.push(`${hit(seq.ports[i - 1])} ${recentSeen(stage(i), w)} -j RETURN`);
  }
  const reset = names.ipt.reset(m);
  const first = names.ipt.first(m);
  chains.push({ name: reset, rules: [...all, start].map(recentRemove) });
  chains.push({ name: first, rules: [`${recentSet(stage(1))} ${recentSet(start)}`] });
  for (const [proto, ports] of byProto(seq.ports)) {
    for (const match of portMatches(proto, ports, seq.flags)) rules.push(`${match} -j ${reset}`);
  }
  rules.push(`${hit(seq.ports[0])} -g ${first}`);
  return rules;
}
