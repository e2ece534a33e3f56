import { COPY_SUFFIX } from './python-conditionals.js';
import { translatePythonRegex } from './python-regex.js';

/**
 * fail2ban's Regex/FailRegex (server/failregex.py): `<HOST>`-style tags expanded to Python
 * regex text, then translated to JavaScript. Pure.
 */

const IP_4_RE = String.raw`(?:\d{1,3}\.){3}\d{1,3}`;
const IP_6_RE = String.raw`(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|(?<=:):)`;
const R_IPV4 = String.raw`(?:::f{4,6}:)?(?P<ip4>${IP_4_RE})`;
const R_IPV6 = `(?P<ip6>${IP_6_RE})`;
// fail2ban's `[\w\-.^_]*\w`, bounded to a DNS name's 253 characters: unbounded, an unanchored
// `<HOST>` tried at every offset of a long word (a 7.9 KB User-Agent) costs the square of its
// length (160 ms a line); bounded, each offset costs at most 253 steps. A longer "host" is no
// name anyway, and a door grants addresses only.
const R_DNS = String.raw`(?P<dns>[\w\-.^_]{0,252}\w)`;
const R_ADDR = String.raw`\[?(?:${R_IPV4}|${R_IPV6})\]?`;
const R_HOST = `(?:${R_ADDR}|${R_DNS})`;
const R_CIDR = String.raw`(?P<cidr>\d+)`;
const R_SUBNET = String.raw`\[?(?:${R_IPV4}|${R_IPV6})(?:/${R_CIDR})?\]?`;

const RH4TAG: Record<string, string> = {
  IP4: R_IPV4,
  'F-IP4/': R_IPV4,
  IP6: R_IPV6,
  'F-IP6/': R_IPV6,
  ADDR: R_ADDR,
  'F-ADDR/': R_ADDR,
  CIDR: R_CIDR,
  'F-CIDR/': R_CIDR,
  SUBNET: R_SUBNET,
  'F-SUBNET/': R_SUBNET,
  DNS: R_DNS,
  'F-DNS/': R_DNS,
  'F-ID/': String.raw`(?P<fid>\S+)`,
  'F-PORT/': String.raw`(?P<fport>\w+)`,
};
const R_MAP: Record<string, string> = { id: 'fid', port: 'fport' };
const FAILURE_ID_PRESENTS = ['fid', 'ip4', 'ip6', 'dns', 'mlfid'];

export type UseDns = 'yes' | 'warn' | 'no' | 'raw';

/** fail2ban's Regex._resolveHostTag: the tags replaced by their Python regex text. */
export function resolveHostTag(regex: string, useDns: UseDns = 'warn'): string {
  const open = new Set<string>();
  let nl = 0;
  return regex.replace(/<\/?[\w-]+\/?>/g, (tag) => {
    const tn = tag.slice(1, -1);
    if (tn === 'HOST') return useDns === 'no' ? R_ADDR : R_HOST;
    if (tn === 'SKIPLINES') return String.raw`\n(?P<skiplines${nl++}>(?:(?:.*\n)*?))`;
    if (tn in RH4TAG) return RH4TAG[tn];
    const m = /^(\/?)F-([A-Z0-9_-]+)$/.exec(tn);
    if (!m) return tag;
    if (m[1]) return open.has(m[2]) ? ')' : tag;
    open.add(m[2]);
    const name = m[2].toLowerCase();
    return `(?P<${R_MAP[name] ?? name}>`;
  });
}

// `((?i)x)` and `(?:(?i)x)` become `(?i:x)`, as fail2ban does before compiling
const GLOB_TO_LOCAL = /(?<!\\)\((?:\?:)?(\(\?[a-z]+)\)/g;

export class Fail2banRegex {
  readonly regex: RegExp;
  readonly groupNames: readonly string[];
  private readonly skipGroups: number;

  /** Throws PythonRegexError (or SyntaxError) with the reason. */
  constructor(
    readonly source: string,
    opts: { multiline?: boolean; useDns?: UseDns } = {},
  ) {
    let text = resolveHostTag(source, opts.useDns);
    if (text.trim() === '') throw new Error('empty regex');
    text = text.replace(GLOB_TO_LOCAL, '$1:');
    const t = translatePythonRegex(text, { multiline: opts.multiline });
    this.regex = new RegExp(t.source, t.flags);
    this.groupNames = t.groupNames;
    this.skipGroups = t.groupNames.filter((n) => /^skiplines\d+$/.test(n)).length;
  }

  get hasFailureId(): boolean {
    return this.groupNames.some((g) => FAILURE_ID_PRESENTS.includes(g));
  }

  /** Named groups of a match; undefined values left out like Python's None. */
  search(buf: string): RegexMatch | null {
    const m = this.regex.exec(buf);
    if (!m) return null;
    const groups: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(m.groups ?? {})) {
      // copies made for a conditional group (python-regex.ts) report under their own name
      const base = k.replace(COPY_SUFFIX, '');
      if (base === k || groups[base] === undefined) groups[base] = v ?? groups[base];
    }
    // fail2ban's alt_ and tuple_ groups merge into their base name
    for (const k of Object.keys(groups).sort()) {
      const c = /^(alt_|tuple_)(.*?)(?:_\d+)?$/.exec(k);
      if (!c || k.length <= 4) continue;
      const name = R_MAP[c[2].toLowerCase()] ?? c[2].toLowerCase();
      if (c[1] === 'alt_' && groups[k] && !groups[name]) groups[name] = groups[k];
    }
    let skipped = '';
    for (let i = 0; i < this.skipGroups; i++) skipped += m.groups?.[`skiplines${i}`] ?? '';
    return { index: m.index, end: m.index + m[0].length, groups, skipped, buf };
  }
}

export interface RegexMatch {
  readonly index: number;
  readonly end: number;
  readonly groups: Record<string, string | undefined>;
  /** Text captured by <SKIPLINES>. */
  readonly skipped: string;
  readonly buf: string;
}
