import { INPUT_PRIORITY, TABLE } from '../kernel-names.js';
import { type ChainOutcome, type Probe, toolOfChains } from './packet.js';

/**
 * Walks another nftables ruleset (`nft -j list ruleset`, which includes what iptables-nft,
 * ufw, firewalld and Docker load) for one probe, the way the kernel would: every base chain on
 * the hook runs, a drop anywhere is final, an accept ends only its own chain. Pure.
 *
 * A match the walker can't evaluate counts as "doesn't match" in filter chains (no finding
 * without evidence) and as "matches" in nat chains (a port that may be redirected is worth a
 * look). Loopback, another firewall's source allow lists and established traffic never match:
 * the probe is a new connection from anyone.
 */

type Json = Record<string, any>;
interface Chain {
  family: string;
  table: string;
  name: string;
  hook?: string;
  type?: string;
  prio?: number;
  policy?: string;
}
interface Rule {
  family: string;
  table: string;
  chain: string;
  handle?: number;
  expr: Json[];
}
type Step = { verdict: 'accept' | 'drop' | 'dnat'; by: string } | { verdict: 'continue' | 'return' };

const MAX_DEPTH = 16;

export interface NftRuleset {
  readonly chains: readonly Chain[];
  readonly rules: ReadonlyMap<string, readonly Rule[]>;
}

/** Reads `nft -j list ruleset` output. */
export function parseNftRuleset(json: string): NftRuleset {
  const items: Json[] = JSON.parse(json).nftables ?? [];
  const chains: Chain[] = [];
  const rules = new Map<string, Rule[]>();
  for (const item of items) {
    if (item.chain) chains.push(item.chain);
    if (item.rule) {
      const k = key(item.rule.family, item.rule.table, item.rule.chain);
      if (!rules.has(k)) rules.set(k, []);
      rules.get(k)!.push(item.rule);
    }
  }
  return { chains, rules };
}

const key = (family: string, table: string, chain: string) => `${family} ${table} ${chain}`;

/**
 * Tables (`ip filter`) holding xt matches the JSON shows without their options (iptables-nft's
 * `-m multiport --dports 22,80` is only `{"xt": {"name": "multiport"}}`): doctor walks those
 * from `iptables-nft-save` instead (iptables-walk.ts).
 */
export function xtTables(rs: NftRuleset): Set<string> {
  const out = new Set<string>();
  for (const rules of rs.rules.values())
    for (const r of rules)
      if (r.expr.some((e) => e.xt?.type === 'match' && !OPAQUE_OK.includes(String(e.xt.name))))
        out.add(`${r.family} ${r.table}`);
  return out;
}

// iptables-nft keeps these as xt matches; they don't exclude a new connection from anyone
const OPAQUE_OK = ['addrtype', 'comment', 'tcp', 'udp', 'limit'];

/** Base chains of other tables on `hook` that see the probe's family. */
function baseChains(rs: NftRuleset, probe: Probe, hook: string, type: string, skip: ReadonlySet<string>): Chain[] {
  const families = probe.family === 4 ? ['inet', 'ip'] : ['inet', 'ip6'];
  return rs.chains.filter(
    (c) =>
      c.hook === hook &&
      c.type === type &&
      families.includes(c.family) &&
      !(c.family === 'inet' && c.table === TABLE) &&
      !skip.has(`${c.family} ${c.table}`),
  );
}

/** Every filter chain (prerouting and input hooks) that drops the probe; `skip`: tables walked elsewhere. */
export function nftDrops(rs: NftRuleset, probe: Probe, skip: ReadonlySet<string> = new Set()): ChainOutcome[] {
  const out: ChainOutcome[] = [];
  for (const hook of ['prerouting', 'input']) {
    for (const c of baseChains(rs, probe, hook, 'filter', skip)) {
      const o = walkBase(rs, c, probe, 'filter');
      if (o.verdict === 'drop') out.push(o);
    }
  }
  return out;
}

/** Every nat prerouting chain that redirects the probe (DNAT, redirect): it never reaches sesame's input rules. */
export function nftRedirects(rs: NftRuleset, probe: Probe, skip: ReadonlySet<string> = new Set()): ChainOutcome[] {
  return baseChains(rs, probe, 'prerouting', 'nat', skip)
    .map((c) => walkBase(rs, c, probe, 'nat'))
    .filter((o) => o.verdict === 'dnat');
}

function walkBase(rs: NftRuleset, c: Chain, probe: Probe, mode: 'filter' | 'nat'): ChainOutcome {
  // sesame marks a grant holder's packet in its input chain: chains that run earlier see none
  // (at the same priority the order is not defined, so neither is the mark)
  const seesMark = c.hook === 'input' && typeof c.prio === 'number' && c.prio > INPUT_PRIORITY;
  const step = walk(rs, c.family, c.table, c.name, seesMark ? probe : { ...probe, mark: 0 }, mode, 0);
  const chain = `table ${c.family} ${c.table}, chain ${c.name}`;
  const tool = toolOf(rs, c);
  if (step.verdict === 'accept' || step.verdict === 'drop' || step.verdict === 'dnat')
    return { verdict: step.verdict, chain, by: step.by, tool, seesMark };
  return {
    verdict: c.policy === 'drop' ? 'drop' : 'accept',
    chain,
    by: `policy ${c.policy ?? 'accept'}`,
    tool,
    seesMark,
  };
}

function walk(
  rs: NftRuleset,
  family: string,
  table: string,
  chain: string,
  p: Probe,
  mode: 'filter' | 'nat',
  depth: number,
): Step {
  if (depth > MAX_DEPTH) return { verdict: 'continue' };
  for (const rule of rs.rules.get(key(family, table, chain)) ?? []) {
    const where = `rule ${rule.handle ?? '?'} in ${chain}`;
    let applies = true;
    for (const e of rule.expr) {
      if (!applies) break;
      const m = evalMatch(e, p, mode);
      if (m === false) applies = false;
      if (m !== undefined) continue;
      const step = evalStatement(rs, family, table, e, p, mode, depth, where);
      if (step) {
        if (step.verdict === 'continue') break;
        return step;
      }
    }
  }
  return { verdict: 'continue' };
}

/** A statement's effect: a verdict, a jump's result, or null for non-terminal ones (counter, log). */
function evalStatement(
  rs: NftRuleset,
  family: string,
  table: string,
  e: Json,
  p: Probe,
  mode: 'filter' | 'nat',
  depth: number,
  where: string,
): Step | null {
  if ('accept' in e) return { verdict: 'accept', by: where };
  if ('drop' in e || 'reject' in e) return { verdict: 'drop', by: where };
  if ('dnat' in e || 'redirect' in e) return mode === 'nat' ? { verdict: 'dnat', by: where } : null;
  if ('return' in e) return { verdict: 'return' };
  if (e.xt?.type === 'target') {
    const t = String(e.xt.name).toUpperCase();
    if (t === 'ACCEPT') return { verdict: 'accept', by: where };
    if (t === 'DROP' || t === 'REJECT') return { verdict: 'drop', by: where };
    if ((t === 'DNAT' || t === 'REDIRECT') && mode === 'nat') return { verdict: 'dnat', by: where };
    return null;
  }
  const target = e.jump?.target ?? e.goto?.target;
  if (target) {
    const r = walk(rs, family, table, target, p, mode, depth + 1);
    if (r.verdict === 'accept' || r.verdict === 'drop' || r.verdict === 'dnat') return r;
    // a jump that returns goes on with the next rule; a goto doesn't come back to this chain
    return e.goto ? { verdict: 'return' } : { verdict: 'continue' };
  }
  if (e.vmap) {
    const k = e.vmap.key;
    if (k?.ct?.key !== 'state') return null;
    for (const [value, verdict] of e.vmap.data?.set ?? []) {
      const states = Array.isArray(value) ? value : [value];
      if (!states.includes('new')) continue;
      if ('accept' in verdict) return { verdict: 'accept', by: where };
      if ('drop' in verdict || 'reject' in verdict) return { verdict: 'drop', by: where };
    }
    return null;
  }
  return null;
}

/** true/false for a match expression, undefined when `e` is a statement. */
function evalMatch(e: Json, p: Probe, mode: 'filter' | 'nat'): boolean | undefined {
  const unknown = mode === 'nat';
  if (e.xt?.type === 'match') {
    if (OPAQUE_OK.includes(String(e.xt.name))) return true;
    return unknown;
  }
  if ('limit' in e || 'counter' in e || 'log' in e) return undefined;
  if (!e.match) return undefined;
  const { op = '==', left, right } = e.match;
  const positive = op === '==' || op === 'in';
  const negative = op === '!=';
  const test = (hit: boolean) => (positive ? hit : negative ? !hit : unknown);
  if (left?.payload) {
    const { protocol, field } = left.payload;
    if (field === 'dport') {
      if (protocol !== 'th' && protocol !== p.proto) return false;
      return test(valueHas(right, p.port));
    }
    if (field === 'sport' || field === 'flags') return protocol === 'th' || protocol === p.proto ? true : false;
    if ((protocol === 'ip' && field === 'protocol') || (protocol === 'ip6' && field === 'nexthdr')) {
      if ((protocol === 'ip') !== (p.family === 4)) return false;
      return test(valueHas(right, p.proto));
    }
    if (field === 'saddr') return negative; // anyone is in nobody's allow list and in every "not X"
    if (field === 'daddr') return !valueHas(right, '127.0.0.1') || negative;
    return unknown;
  }
  const mark = p.mark ?? 0;
  const masked = left?.['&'];
  if (Array.isArray(masked) && masked[0]?.meta?.key === 'mark' && typeof masked[1] === 'number')
    return test((mark & masked[1]) >>> 0 === Number(right));
  if (left?.meta) {
    const k = left.meta.key;
    if (k === 'mark') return test(valueHas(right, mark));
    if (k === 'l4proto') return test(valueHas(right, p.proto));
    if (k === 'nfproto') return test(valueHas(right, p.family === 4 ? 'ipv4' : 'ipv6'));
    if (k === 'iifname' || k === 'iif') return negative; // the probe comes in on some outside interface
    if (k === 'iiftype') return true;
    if (k === 'pkttype') return test(valueHas(right, 'host'));
    return unknown;
  }
  if (left?.ct) {
    if (left.ct.key === 'state') return test(valueHas(right, 'new'));
    if (left.ct.key === 'status') return negative;
    return unknown;
  }
  if (left?.fib) return true; // fib daddr type local: the probe is for this host
  return unknown;
}

function valueHas(right: any, v: string | number): boolean {
  if (Array.isArray(right)) return right.some((r) => valueHas(r, v));
  if (right?.set) return valueHas(right.set, v);
  if (right?.range && typeof v === 'number') return v >= Number(right.range[0]) && v <= Number(right.range[1]);
  if (right?.prefix) return false;
  return right === v || String(right) === String(v);
}

/** Which tool a chain belongs to, from its table and the chain names in it. */
function toolOf(rs: NftRuleset, c: Chain): ChainOutcome['tool'] {
  if (c.table === 'firewalld') return 'firewalld';
  const names = rs.chains.filter((x) => x.family === c.family && x.table === c.table).map((x) => x.name);
  const made = toolOfChains(names);
  if (made) return made;
  if (['filter', 'nat', 'mangle', 'raw'].includes(c.table) && c.name === c.name.toUpperCase()) return 'iptables';
  return 'nftables';
}
