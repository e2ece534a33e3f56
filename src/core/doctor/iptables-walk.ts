import { type ChainOutcome, type Probe, toolOfChains } from './packet.js';

/**
 * The same question as nft-walk.ts for iptables-legacy (`iptables-legacy-save` text): those
 * rules live in x_tables, which `nft list ruleset` doesn't show, and still drop packets. Pure.
 * Options it doesn't know make a filter rule "not apply" and a nat rule "apply", as there.
 */

interface SaveRule {
  readonly chain: string;
  readonly args: readonly string[];
  readonly line: number;
}
export interface SaveTable {
  readonly name: string;
  readonly policies: ReadonlyMap<string, string>;
  readonly rules: readonly SaveRule[];
}

/** Parses `iptables-save` output into tables. */
export function parseIptablesSave(text: string): SaveTable[] {
  const tables: { name: string; policies: Map<string, string>; rules: SaveRule[] }[] = [];
  let current: (typeof tables)[number] | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line.startsWith('*')) {
      current = { name: line.slice(1), policies: new Map(), rules: [] };
      tables.push(current);
    } else if (line.startsWith(':') && current) {
      const [chain, policy] = line.slice(1).split(/\s+/);
      current.policies.set(chain, policy);
    } else if (line.startsWith('-A ') && current) {
      const args = tokenize(line);
      current.rules.push({ chain: args[1], args: args.slice(2), line: i + 1 });
    }
  });
  return tables;
}

function tokenize(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

const BUILTIN = new Set(['INPUT', 'PREROUTING', 'FORWARD', 'OUTPUT', 'POSTROUTING']);
// modules whose options applies() reads itself, or that don't exclude a new connection from anyone
const HARMLESS_MODULES = new Set([
  'tcp',
  'udp',
  'comment',
  'multiport',
  'conntrack',
  'state',
  'addrtype',
  'limit',
  'mark',
]);

/** Which iptables the save text came from: legacy x_tables, or iptables-nft's tables. */
export type SaveSource = 'iptables-legacy' | 'iptables-nft';

/** Whether the `filter` INPUT chain drops the probe, and the nat PREROUTING chain redirects it. */
export function iptablesOutcomes(
  tables: readonly SaveTable[],
  probe: Probe,
  source: SaveSource = 'iptables-legacy',
): ChainOutcome[] {
  // iptables-nft's tables are nft tables: named as nft-walk.ts names them, with the tool they came from
  const tool = source === 'iptables-legacy' ? 'iptables-legacy' : toolOf(tables);
  const label = (table: string, chain: string) =>
    source === 'iptables-legacy'
      ? `iptables-legacy ${table} ${chain}`
      : `table ${probe.family === 4 ? 'ip' : 'ip6'} ${table}, chain ${chain}`;
  const policy = (p: string) => (source === 'iptables-legacy' ? p : p.toLowerCase());
  const out: ChainOutcome[] = [];
  const filter = tables.find((t) => t.name === 'filter');
  if (filter) {
    const r = walk(filter, 'INPUT', probe, 'filter', 0);
    const verdict =
      r ??
      (filter.policies.get('INPUT') === 'DROP' ? { verdict: 'drop' as const, by: `policy ${policy('DROP')}` } : null);
    if (verdict?.verdict === 'drop')
      // filter INPUT runs at priority filter (0), after sesame's input chain: the mark is set
      out.push({ verdict: 'drop', chain: label('filter', 'INPUT'), by: verdict.by, tool, seesMark: true });
  }
  const nat = tables.find((t) => t.name === 'nat');
  if (nat) {
    const r = walk(nat, 'PREROUTING', probe, 'nat', 0);
    if (r?.verdict === 'dnat')
      out.push({ verdict: 'dnat', chain: label('nat', 'PREROUTING'), by: r.by, tool, seesMark: false });
  }
  return out;
}

function toolOf(tables: readonly SaveTable[]): ChainOutcome['tool'] {
  return toolOfChains(tables.flatMap((t) => [...t.policies.keys()])) ?? 'iptables';
}

type Result = { verdict: 'accept' | 'drop' | 'dnat'; by: string } | null;

function walk(t: SaveTable, chain: string, p: Probe, mode: 'filter' | 'nat', depth: number): Result {
  if (depth > 16) return null;
  for (const rule of t.rules.filter((r) => r.chain === chain)) {
    if (!applies(rule.args, p, mode)) continue;
    const target = option(rule.args, '-j') ?? option(rule.args, '-g');
    if (!target) continue;
    const by = `line ${rule.line} (-A ${chain} ${rule.args.join(' ')})`;
    if (target === 'ACCEPT') return { verdict: 'accept', by };
    if (target === 'DROP' || target === 'REJECT') return { verdict: 'drop', by };
    if (target === 'DNAT' || target === 'REDIRECT') {
      if (mode === 'nat') return { verdict: 'dnat', by };
      continue;
    }
    if (target === 'RETURN') return null;
    if (BUILTIN.has(target) || !t.policies.has(target)) continue; // LOG, MARK and other non-terminal targets
    const r = walk(t, target, p, mode, depth + 1);
    if (r) return r;
    if (option(rule.args, '-g')) return null;
  }
  return null;
}

function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Whether a rule's matches take a new connection from anyone to the probe's port. */
function applies(args: readonly string[], p: Probe, mode: 'filter' | 'nat'): boolean {
  for (let i = 0; i < args.length; i++) {
    const negated = args[i] === '!';
    const a = negated ? args[++i] : args[i];
    const v = args[i + 1];
    const is = (hit: boolean) => (negated ? !hit : hit);
    switch (a) {
      case '-p':
        if (!is(v === p.proto || v === 'all')) return false;
        i++;
        break;
      case '--dport':
      case '--destination-port':
      case '--dports':
      case '--destination-ports':
        if (!is(portIn(v, p.port))) return false;
        i++;
        break;
      case '-s':
      case '--source':
        if (!negated) return false; // a source allow list: anyone isn't in it
        i++;
        break;
      case '-i':
      case '--in-interface':
        if (!negated) return false; // -i lo, -i docker0: not where the probe comes in
        i++;
        break;
      case '--ctstate':
      case '--state':
        if (!is(v.split(',').includes('NEW'))) return false;
        i++;
        break;
      case '--mark': {
        const [value, mask = '0xffffffff'] = v.split('/');
        if (!is(((p.mark ?? 0) & Number(mask)) >>> 0 === Number(value))) return false;
        i++;
        break;
      }
      case '-m':
        if (!HARMLESS_MODULES.has(v) && mode === 'filter') return false;
        i++;
        break;
      case '-j':
      case '-g':
        return true;
      default:
        // values of options we skip (--comment "x", --dst-type LOCAL, --limit 3/min)
        if (a.startsWith('-') && v !== undefined && !v.startsWith('-')) i++;
    }
  }
  return true;
}

function portIn(spec: string, port: number): boolean {
  return spec.split(',').some((part) => {
    const [lo, hi] = part.split(':').map(Number);
    return hi === undefined ? lo === port : port >= lo && port <= (hi || 65535);
  });
}
