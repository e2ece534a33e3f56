/**
 * What makes a failregex a weak door, read from its source (tags unexpanded). Pure.
 *
 * - not anchored: a `<HOST>` regex without `^` is tried at every offset of every line, so a
 *   long field (a User-Agent) costs it many times over, and the address can come from any part
 *   of the line (fail2ban's own advice: anchor with `^` or a fixed prefix);
 * - a wildcard before the address (`.*`, `.+?`, `.{2,}`): it can run across a field a client
 *   writes (a user name, a Referer) to an address of the client's choosing, the way fail2ban's
 *   stock nginx-http-auth lets an attacker name the address that gets banned. For a ban that
 *   is a denial of service; for a door it opens the port to whoever the line names.
 */

const ADDRESS_TAG = /<(?:HOST|ADDR|IP4|IP6|F-ID|SUBNET)>/;

export type RegexWeakness = 'unanchored' | 'wildcard-before-address';

export interface RegexWarning {
  readonly weakness: RegexWeakness;
  readonly text: string;
}

/** The warnings for one failregex (empty for a regex without an address tag). */
export function failregexWarnings(source: string): RegexWarning[] {
  const at = source.search(ADDRESS_TAG);
  if (at < 0) return [];
  const out: RegexWarning[] = [];
  if (!anchored(source))
    out.push({
      weakness: 'unanchored',
      text: 'is not anchored: it is tried at every offset of every line and the address may come from any part of it; start it with ^ (and a fixed prefix up to the address)',
    });
  const wildcard = wildcardBefore(source, at);
  if (wildcard)
    out.push({
      weakness: 'wildcard-before-address',
      text: `has ${wildcard} before the address: it can span a field a client writes (a user name, a Referer) up to an address the client chooses; match that field with [^"]* or \\S+ instead`,
    });
  return out;
}

/** True when every top-level alternative starts with `^` or `\A` (after inline flags and groups). */
function anchored(source: string): boolean {
  return topLevelAlternatives(source).every((alt) => {
    const s = alt.replace(/^(?:\((?:\?[a-zA-Z]+\)|\?:|\?P<\w+>|\?<\w+>|(?!\?)))*/, '');
    return s.startsWith('^') || s.startsWith('\\A');
  });
}

function topLevelAlternatives(source: string): string[] {
  const alts: string[] = [];
  let depth = 0;
  let inClass = false;
  let start = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      if (source[i + 1] === '^') i++;
      if (source[i + 1] === ']') i++;
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      alts.push(source.slice(start, i));
      start = i + 1;
    }
  }
  alts.push(source.slice(start));
  return alts;
}

/** The first unescaped `.` with an unbounded quantifier before `end`, as written, or null. */
function wildcardBefore(source: string, end: number): string | null {
  let inClass = false;
  for (let i = 0; i < end; i++) {
    const c = source[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      if (source[i + 1] === '^') i++;
      if (source[i + 1] === ']') i++;
      continue;
    }
    if (c !== '.') continue;
    const m = /^(?:[*+]|\{\d*,\})\??/.exec(source.slice(i + 1));
    if (m) return `.${m[0]}`;
  }
  return null;
}
