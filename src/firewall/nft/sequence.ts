import type { Family, Plan, PortSpec, Proto, Sequence, SequenceDoor } from '../../core/door.js';
import { knocksOnOpenConnections } from '../../core/tcp-flags.js';
import { nftDuration } from '../../core/duration.js';
import type { DoorNames, Machine } from '../../core/kernel-names.js';
import type { NftFragment } from './fragment.js';
import {
  byProto,
  chainDecl,
  chunks,
  FAMILIES,
  familyName,
  fmtPort,
  iif,
  knockMatch,
  protoMatch,
  RESETS_PER_RULE,
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
  const dispatch = (proto: Proto, ports: number[]) =>
    `${iif(door)}${protoMatch(proto, ports)} jump ${names.knockChain}`;
  // new connections come through `knocks`; the per-connection seen set keeps an open
  // connection's packets to one knock
  const onOpen = openConnectionPorts(door);
  return {
    sets,
    chains: [chainDecl(names.knockChain, rules)],
    knocks: byProto(knockPorts).map(([proto, ports]) => dispatch(proto, ports)),
    early: onOpen.length
      ? [
          `# door ${door.name}: TCPFlags without syn, so knocks can be packets of open connections`,
          `ct state established,related ${dispatch('tcp', onOpen)}`,
        ]
      : [],
    progressSets: (f) => progressSets(door, f, names),
  };
}

/** The tcp knock ports of sequences whose flags a packet of an open connection can carry. */
function openConnectionPorts(door: SequenceDoor): number[] {
  const seqs = [door.knock, ...(door.close ? [door.close] : [])].filter((s) => knocksOnOpenConnections(s.flags));
  return [...new Set(seqs.flatMap((s) => s.ports.filter((p) => p.proto === 'tcp').map((p) => p.port)))].sort(
    (a, b) => a - b,
  );
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
  // A tcp port the sequence repeats counts hit by hit, as in knockd, but per packet: each
  // counted knock's `address . sport . dport` is remembered, so a retransmitted SYN (same
  // source port) is ignored while a new connection (a new source port) counts. A one-knock
  // door gets the same, so a SYN retransmit is not a second knock (nor a second command).
  const deduped = n === 1 && seq.ports[0].proto === 'tcp' ? [seq.ports[0]] : repeatedTcpPorts(seq);
  const seen = names.seen(machine, f);
  const count = (p: PortSpec) =>
    deduped.some((r) => r.port === p.port && r.proto === p.proto)
      ? `update @${seen} { ${a} . tcp sport . tcp dport } `
      : '';
  const rules: string[] = [];
  if (deduped.length > 0) {
    sets.push(seenDecl(seen, f, Math.max(seq.withinMs, SYN_RETRIES_MS), plan.setSize));
    const ports = deduped.map((r) => r.port);
    rules.push(`${protoMatch('tcp', ports, seq.flags)} ${a} . tcp sport . tcp dport @${seen} return`);
  }
  if (n === 1) return [...rules, `${hit(seq.ports[0])} ${count(seq.ports[0])}${complete} return`];

  const start = names.start(machine, f);
  const stage = (i: number) => names.stage(machine, i, f);
  sets.push(setDecl(start, f, seq.withinMs, plan.setSize));
  for (let i = 1; i < n; i++) sets.push(setDecl(stage(i), f, seq.withinMs, plan.setSize));
  // The flood lane (see QUICK_STEP_MS): only when `within` is longer than its step.
  const lane = seq.withinMs > QUICK_STEP_MS;
  const quick = names.quick(machine, f);
  const quickStart = names.quickStart(machine, f);
  if (lane) {
    sets.push(setDecl(quick, f, QUICK_STEP_MS, plan.setSize, QUICK_GC_MS));
    if (n > 2) sets.push(setDecl(quickStart, f, seq.withinMs - QUICK_STEP_MS, plan.setSize));
  }

  for (let i = n - 1; i >= 1; i--) {
    const advance = (startSet: string) =>
      i + 1 === n
        ? `delete @${stage(i)} { ${a} } delete @${startSet} { ${a} } ${count(seq.ports[i])}${complete}`
        : `delete @${stage(i)} { ${a} } ${count(seq.ports[i])}update @${stage(i + 1)} { ${a} }`;
    rules.push(`${hit(seq.ports[i])} ${a} @${stage(i)} ${a} @${start} ${advance(start)} return`);
    if (lane && i >= 2)
      rules.push(`${hit(seq.ports[i])} ${a} @${stage(i)} ${a} @${quickStart} ${advance(quickStart)} return`);
    rules.push(`${hit(seq.ports[i - 1])} ${a} @${stage(i)} return`);
  }
  if (lane) {
    const next =
      n === 2
        ? `${count(seq.ports[1])}${complete}`
        : `${count(seq.ports[1])}update @${stage(2)} { ${a} } update @${quickStart} { ${a} }`;
    rules.push(`${hit(seq.ports[1])} ${a} @${quick} delete @${quick} { ${a} } ${next} return`);
    rules.push(`${hit(seq.ports[0])} ${a} @${quick} return`);
  }
  const progress = [...Array(n - 1).keys()].map((i) => stage(i + 1));
  progress.push(start);
  if (lane) progress.push(quick, ...(n > 2 ? [quickStart] : []));
  const resetAll = progress.map((s) => `delete @${s} { ${a} }`);
  for (const [proto, ports] of byProto(seq.ports)) {
    for (const part of chunks(resetAll, RESETS_PER_RULE))
      rules.push(`${protoMatch(proto, ports, seq.flags)} ${part.join(' ')}`);
  }
  rules.push(
    `${hit(seq.ports[0])} ${count(seq.ports[0])}update @${stage(1)} { ${a} } update @${start} { ${a} } return`,
  );
  // reached only when the first stage (or the start set) is full: see QUICK_STEP_MS
  if (lane) rules.push(`${hit(seq.ports[0])} ${count(seq.ports[0])}update @${quick} { ${a} } return`);
  return rules;
}

/**
 * The flood lane. Sets don't evict: a spoofed flood of first knocks from more than `set_size`
 * addresses within `within` keeps the first stage and the start set full, and a first knock
 * that finds them full makes no progress. Only the first knock is exposed (the flood can't
 * send the second port it doesn't know), and a knock client sends its second knock right
 * after the first. So a first knock that finds the first stage full goes to `<door>_kq_<f>`,
 * whose entries live QUICK_STEP_MS instead of `within`: a flood must send `set_size /
 * QUICK_STEP_MS` new sources a second to keep that full too. The second knock moves the
 * address on to stage 2 and into `<door>_kqstart_<f>` (timeout `within` - QUICK_STEP_MS), so
 * the sequence still ends within `within` of its first knock. Without a flood the lane is never
 * used and nothing changes; under one, the second knock must follow within QUICK_STEP_MS.
 */
export const QUICK_STEP_MS = 1000;
/**
 * The lane's expired entries keep their place until the kernel's set GC collects them (every
 * second by default), which would make a lane entry cost up to 2 s of its bound; collecting
 * every 250 ms keeps that near 1 s, for a walk of at most `set_size` entries 4 times a second.
 */
const QUICK_GC_MS = 250;

/** A client's kernel gives up retransmitting a SYN after about 127 s (tcp_syn_retries = 6). */
const SYN_RETRIES_MS = 130_000;

/** TCP ports that occur more than once in a sequence (knockd counts each occurrence). */
export function repeatedTcpPorts(seq: Sequence): PortSpec[] {
  const tcp = seq.ports.filter((p) => p.proto === 'tcp').map((p) => p.port);
  return [...new Set(tcp.filter((p, i) => tcp.indexOf(p) !== i))].map((port) => ({ port, proto: 'tcp' as const }));
}

function seenDecl(name: string, f: Family, timeoutMs: number, size: number): string {
  const addr = f === 4 ? 'ipv4_addr' : 'ipv6_addr';
  return `set ${name} { type ${addr} . inet_service . inet_service; flags dynamic,timeout; timeout ${nftDuration(timeoutMs)}; size ${size}; }`;
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
    if (seq.withinMs > QUICK_STEP_MS)
      out.push(names.quick(m, f), ...(seq.ports.length > 2 ? [names.quickStart(m, f)] : []));
  }
  return out;
}
