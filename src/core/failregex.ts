import { isIP } from 'node:net';

/**
 * fail2ban `failregex` (Python `re` syntax with `<HOST>` tags) translated to JavaScript.
 * Pure: compiled once per config, then `matchHost` runs per log line.
 * See fail2ban's filter.d/*.conf and `man jail.conf` ("FILTER FILES").
 */

const IPV4 = String.raw`(?:\d{1,3}\.){3}\d{1,3}`;
const IPV6 = String.raw`(?:[0-9A-Fa-f]{0,4}:){2,7}(?:${IPV4}|[0-9A-Fa-f]{1,4})?`;
// fail2ban strips a v4-mapped prefix and optional brackets around v6 addresses
const HOST_FORMS: Record<string, string> = {
  HOST: `(?:::f{4,6}:)?\\[?(?<@>${IPV4}|${IPV6})\\]?`,
  ADDR: `(?:::f{4,6}:)?\\[?(?<@>${IPV4}|${IPV6})\\]?`,
  IP4: `(?<@>${IPV4})`,
  IP6: `\\[?(?<@>${IPV6})\\]?`,
};

export interface Failregex {
  readonly source: string;
  readonly regex: RegExp;
  /** Names of the groups that hold an address, in order. */
  readonly hostGroups: readonly string[];
}

/** Translates one failregex; returns an error message when it can't be used. */
export function compileFailregex(source: string, requireHost = true): Failregex | string {
  let flags = '';
  let text = source;
  const inline = /^\(\?([aiLmsux]+)\)/.exec(text);
  if (inline) {
    for (const f of inline[1]) {
      if (f === 'i' || f === 'm' || f === 's') flags += f;
      else if (f !== 'u' && f !== 'a') return `inline flag (?${f}) has no JavaScript equivalent`;
    }
    text = text.slice(inline[0].length);
  }
  if (/<SKIPLINES>/.test(text)) return '<SKIPLINES> (multi-line matches) is not supported; match one line';
  if (/<DNS>/.test(text)) return '<DNS> matches host names; sesame grants addresses, use <HOST> or <ADDR>';

  const hostGroups: string[] = [];
  text = text.replace(/<(HOST|ADDR|IP4|IP6)>/g, (_, tag: string) => {
    const name = `host${hostGroups.length}`;
    hostGroups.push(name);
    return HOST_FORMS[tag].replace('@', name);
  });
  if (requireHost && hostGroups.length === 0)
    return 'a failregex needs <HOST> (or <ADDR>, <IP4>, <IP6>) where the address is';
  text = text
    // fail2ban's capture tags, e.g. <F-USER>...</F-USER>, <F-ID>...</F-ID>: keep the grouping only
    .replace(/<F-[A-Z0-9_-]+>/g, '(?:')
    .replace(/<\/F-[A-Z0-9_-]+>/g, ')')
    .replace(/\(\?P</g, '(?<')
    .replace(/\(\?P=(\w+)\)/g, '\\k<$1>')
    .replace(/\\A/g, '^')
    .replace(/\\Z/g, '$');
  try {
    return { source, regex: new RegExp(text, flags), hostGroups };
  } catch (err) {
    return `not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`;
  }
}

// fail2ban cuts the timestamp out of a line before matching (filters say `\[\]` where an access
// log has `[10/Oct/2000:13:55:36 -0700]`), so filter.d files are written against the cut line.
const DATE = new RegExp(
  [
    String.raw`\d{1,2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}(?: [+-]\d{4})?`,
    String.raw`\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?`,
    String.raw`(?:[A-Z][a-z]{2} )?[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}(?:\.\d+)?(?: \d{4})?`,
  ].join('|'),
);

/** The line with its first timestamp removed, as fail2ban matches it; null when it has none. */
export function withoutDate(line: string): string | null {
  const m = DATE.exec(line);
  return m ? line.slice(0, m.index) + line.slice(m.index + m[0].length) : null;
}

function hostOf(f: Failregex, text: string): string | null {
  const m = f.regex.exec(text);
  if (!m?.groups) return null;
  for (const g of f.hostGroups) {
    const value = m.groups[g];
    if (value === undefined) continue;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(value);
    const address = mapped ? mapped[1] : value;
    return isIP(address) ? address : null;
  }
  return null;
}

/**
 * The address a log line reports, or null when no failregex matches it, an ignoreregex
 * does, or the matched text isn't a valid IPv4/IPv6 address. Each regex is tried on the
 * line as is, then on the line without its timestamp.
 */
export function matchHost(line: string, fail: readonly Failregex[], ignore: readonly Failregex[] = []): string | null {
  const cut = withoutDate(line);
  const candidates = cut === null ? [line] : [line, cut];
  let host: string | null = null;
  outer: for (const text of candidates) {
    for (const f of fail) {
      host = hostOf(f, text);
      if (host) break outer;
    }
  }
  if (!host) return null;
  if (ignore.some((r) => candidates.some((t) => r.regex.test(t)))) return null;
  return host;
}
