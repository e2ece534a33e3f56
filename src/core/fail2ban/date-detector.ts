import { translatePythonRegex } from './python-regex.js';

/**
 * fail2ban's date detection (server/datedetector.py, datetemplate.py, strptime.py): finds the
 * timestamp of a log line so it can be cut out before the failregexes run (filter.d regexes
 * are written against the line without it: `\[\]` where an access log has the date). Only the
 * position is needed: sesame counts a line when it arrives, not by its timestamp. Pure.
 */

const LINE_BEGIN = 8;
const LINE_END = 4;

function yearRe(now = new Date()): string {
  const last = Math.floor(((now.getUTCFullYear() + 3) % 100) / 10);
  return `(?P<Y>20[0-${Math.min(9, last)}]\\d)`;
}

const TIME_RE: Record<string, string> = {
  d: String.raw`(?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])`,
  f: String.raw`(?P<f>[0-9]{1,6})`,
  H: String.raw`(?P<H>[0-1]?\d|2[0-3])`,
  I: String.raw`(?P<I>1[0-2]|0[1-9]|[1-9])`,
  G: String.raw`(?P<G>\d\d\d\d)`,
  j: String.raw`(?P<j>36[0-6]|3[0-5]\d|[1-2]\d\d|0[1-9]\d|00[1-9]|[1-9]\d|0[1-9]|[1-9])`,
  m: String.raw`(?P<m>0?[1-9]|1[0-2])`,
  M: String.raw`(?P<M>[0-5]?\d)`,
  S: String.raw`(?P<S>[0-5]?\d|6[0-1])`,
  U: String.raw`(?P<U>5[0-3]|[0-4]\d|\d)`,
  w: String.raw`(?P<w>[0-6])`,
  u: String.raw`(?P<u>[1-7])`,
  V: String.raw`(?P<V>5[0-3]|0[1-9]|[1-4]\d|\d)`,
  y: String.raw`(?P<y>\d\d)`,
  Y: String.raw`(?P<Y>\d{4})`,
  z: String.raw`(?P<z>Z|UTC|GMT|[+-][01]\d(?::?\d{2})?)`,
  A: '(?P<A>wednesday|thursday|saturday|tuesday|monday|friday|sunday)',
  a: '(?P<a>mon|tue|wed|thu|fri|sat|sun)',
  B: '(?P<B>september|february|november|december|january|october|august|march|april|june|july|may)',
  b: '(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)',
  p: '(?P<p>am|pm)',
  Z: '(?P<Z>Z|[A-Z]{3,5})',
  '%': '%',
  W: String.raw`(?P<W>5[0-3]|[0-4]\d|\d)`,
  c: String.raw`(?P<a>mon|tue|wed|thu|fri|sat|sun)\s+(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\s+(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])\s+(?P<H>2[0-3]|[0-1]\d|\d):(?P<M>[0-5]\d|\d):(?P<S>6[0-1]|[0-5]\d|\d)\s+(?P<Y>\d\d\d\d)`,
  x: String.raw`(?P<m>1[0-2]|0[1-9]|[1-9])/(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])/(?P<y>\d\d)`,
  X: String.raw`(?P<H>2[0-3]|[0-1]\d|\d):(?P<M>[0-5]\d|\d):(?P<S>6[0-1]|[0-5]\d|\d)`,
  k: String.raw` ?(?P<H>[0-2]?\d)`,
  l: String.raw` ?(?P<I>1?\d)`,
  ExZ: '(?P<Z>[A-Z](?:[A-Z]{2,4})?)',
  Exz: '(?P<z>(?:[A-Z](?:[A-Z]{2,4})?)?[+-][01]\\d(?::?\\d{2})?|[A-Z](?:[A-Z]{2,4})?)',
  Exd: String.raw`(?P<d>[1-2]\d|0[1-9]|3[0-1])`,
  Exm: '(?P<m>0[1-9]|1[0-2])',
  ExH: String.raw`(?P<H>[0-1]\d|2[0-3])`,
  Exk: String.raw` ?(?P<H>[0-1]?\d|2[0-3])`,
  Exl: String.raw` ?(?P<I>1[0-2]|\d)`,
  ExM: String.raw`(?P<M>[0-5]\d)`,
  ExS: String.raw`(?P<S>[0-5]\d|6[0-1])`,
  ExY: yearRe(),
  Exy: String.raw`(?P<y>\d{2})`,
};
const PATTERN_RE = /%(%|ExZ|Exz|Exd|Exm|ExH|Exk|Exl|ExM|ExS|ExY|Exy|[dfHIGjmMSUwuVyYzAaBbpZ%WcxXkl])/g;

const RE_GROUPED = /(?<!\(\?)(?<!\\)\((?!\?)/;
const RE_GROUP = /^((?:\(\?\w+\))?\^?(?:\(\?\w+\))?)(.*?)(\$?)$/;
const RE_GLOBALFLAGS = /((?:^|(?!<\\))\(\?[a-z]+\))/;
const RE_NO_WRD_BOUND_BEG = /^\(*(?:\(\?\w+\))?(?:\^|\(*\*\*|\((?:\?:)?\^)/;
const RE_NO_WRD_BOUND_END = /(?<!\\)(?:\$\)?|\\b|\\s|\*\*\)*)$/;
const RE_DEL_WRD_BOUNDS = /^\(*(?:\(\?\w+\))?\(*\*\*|(?<!\\)\*\*\)*$/g;
const RE_LINE_BOUND_BEG = /^(?:\(\?\w+\))?(?:\^|\((?:\?:)?\^(?!\|))/;
const RE_LINE_BOUND_END = /(?<![\\|])(?:\$\)?)$/;
const RE_ALPHA_PATTERN = /(?<!%)%[aAbBpc]/;
const RE_EPOCH_PATTERN = /(?<!\\)\{L?EPOCH\}/i;
const RE_DATE_PREMATCH = /(?<!\\)\{DATE\}/gi;

export interface DateTemplate {
  readonly name: string;
  /** The pattern a template was made from (DatePatternRegex only). */
  readonly pattern?: string;
  readonly flags: number;
  readonly regex: RegExp;
}

type WordBegin = boolean | 'start';

/** DateTemplate.setRegex: word/line bounds added, then translated to JavaScript. */
function boundRegex(raw: string, name: string, wordBegin: WordBegin, wordEnd: boolean) {
  let regex = raw.trim();
  const gf = RE_GLOBALFLAGS.exec(regex);
  if (gf) regex = regex.replace(RE_GLOBALFLAGS, '');
  const boundBegin = wordBegin !== false && !RE_NO_WRD_BOUND_BEG.test(regex);
  const boundEnd = wordEnd && !RE_NO_WRD_BOUND_END.test(regex);
  if (!RE_GROUPED.test(regex)) regex = regex.replace(RE_GROUP, '$1($2)$3');
  let flags = 0;
  if (boundBegin) {
    if (wordBegin !== 'start') regex = String.raw`(?=^|\b|\W)${regex}`;
    else {
      flags |= LINE_BEGIN;
      regex = String.raw`^(?:\W{0,2})?${regex}`;
      if (!name.startsWith('{^LN-BEG}')) name = `{^LN-BEG}${name}`;
    }
  }
  if (boundEnd) regex += String.raw`(?=\b|\W|$)`;
  if (!(flags & LINE_BEGIN) && RE_LINE_BOUND_BEG.test(regex)) flags |= LINE_BEGIN;
  if (!(flags & LINE_END) && RE_LINE_BOUND_END.test(regex)) flags |= LINE_END;
  regex = regex.replace(RE_DEL_WRD_BOUNDS, (m) => m.replaceAll('**', ''));
  if (gf) regex = gf[1] + regex;
  const t = translatePythonRegex(regex);
  return { name, flags, regex: new RegExp(t.source, `${t.flags}d`) };
}

/** DatePatternRegex: a strptime-like pattern (`%d/%b/%Y:%H:%M:%S`, `{^LN-BEG}`, `{UNB}`). */
export function datePatternTemplate(pattern: string): DateTemplate {
  let p = pattern;
  let wordBegin: WordBegin = true;
  let wordEnd = true;
  if (/^\{UNB\}/.test(p)) {
    p = p.replace(/^\{UNB\}/, '');
    wordBegin = wordEnd = false;
  }
  if (wordBegin && /^\{\^LN-BEG\}/.test(p)) {
    p = p.replace(/^\{\^LN-BEG\}/, '');
    wordBegin = 'start';
  }
  let regex = p.replace(PATTERN_RE, (_, key: string) => TIME_RE[key]);
  if (RE_ALPHA_PATTERN.test(p)) regex = `(?iu)${regex}`;
  const name = p.replace(PATTERN_RE, (_, key: string) => `%${key}`);
  return { ...boundRegex(regex, name, wordBegin, wordEnd), pattern };
}

const EPOCH = String.raw`\d{10,11}\b(?:\.\d{3,6})?`;
const LONG_EPOCH = String.raw`\d{10,11}(?:\d{3}(?:\.\d{1,6}|\d{3})?)?`;

/**
 * DateEpoch. fail2ban's own regexes end in conditionals `(?(square)(?=\]))` that never
 * constrain a match (an empty alternative or an optional empty group always lets them pass),
 * so they are written here without them.
 */
function epochTemplate(lineBeginOnly: boolean, longFrm: boolean, pattern?: string): DateTemplate {
  const re = longFrm ? LONG_EPOCH : EPOCH;
  const name = pattern ?? (longFrm ? 'LongEpoch' : 'Epoch');
  if (pattern) return boundRegex(`(${pattern.replace(RE_EPOCH_PATTERN, `(${re})`)})`, name, true, true);
  if (!lineBeginOnly) return boundRegex(String.raw`((?:^|(?<=^\[)|(?<=\baudit\())${re})`, name, false, true);
  return boundRegex(`(${re})`, name, 'start', true);
}

function patternTemplate(pattern: string, key = pattern.includes('%') ? pattern : pattern.toUpperCase()): DateTemplate {
  if (key.includes('EPOCH')) {
    if (RE_EPOCH_PATTERN.test(pattern)) return epochTemplate(false, key.includes('LEPOCH'), pattern);
    if (['EPOCH', '{^LN-BEG}EPOCH', '^EPOCH'].includes(key)) return epochTemplate(key !== 'EPOCH', false);
    if (['LEPOCH', '{^LN-BEG}LEPOCH', '^LEPOCH'].includes(key)) return epochTemplate(key !== 'LEPOCH', true);
  }
  if (['TAI64N', '{^LN-BEG}TAI64N', '^TAI64N'].includes(key))
    return boundRegex('@[0-9a-f]{24}', 'TAI64N', key !== 'TAI64N' ? 'start' : false, true);
  return datePatternTemplate(pattern);
}

const DEFAULT_PATTERNS = [
  String.raw`%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\s*%z)?`,
  String.raw`(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`,
  String.raw`(?:%a )?%b %d %ExY %k:%M:%S(?:\.%f)?`,
  String.raw`%d(?P<_sep>[-/])%m(?P=_sep)(?:%ExY|%Exy) %k:%M:%S`,
  String.raw`%d(?P<_sep>[-/])%b(?P=_sep)%ExY[ :]?%H:%M:%S(?:\.%f)?(?: %z)?`,
  String.raw`%m/%d/%ExY:%H:%M:%S`,
  String.raw`%m-%d-%ExY %k:%M:%S(?:\.%f)?`,
  'EPOCH',
  '{^LN-BEG}%H:%M:%S',
  '^<%m/%d/%Exy@%H:%M:%S>',
  '%Exy%Exm%Exd  ?%H:%M:%S',
  '%b %d, %ExY %I:%M:%S %p',
  '^%b-%d-%Exy %k:%M:%S',
  String.raw`%ExY%Exm%Exd(?:T|  ?)%ExH%ExM%ExS(?:[.,]%f)?(?:\s*%z)?`,
  String.raw`(?:%Z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`,
  String.raw`(?:%z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`,
  'TAI64N',
];

let defaults: { plain: DateTemplate[]; all: DateTemplate[] } | undefined;

/** fail2ban's default templates: line-begin anchored copies first, then the plain ones. */
function defaultTemplates() {
  if (defaults) return defaults;
  const plain = DEFAULT_PATTERNS.map((p) => patternTemplate(p));
  const anchored: DateTemplate[] = [];
  for (const t of plain) {
    if (t.name.startsWith('{^LN-BEG}') || t.name.startsWith('^')) continue;
    const a =
      t.pattern !== undefined ? patternTemplate(`{^LN-BEG}${t.pattern}`) : patternTemplate(`{^LN-BEG}${t.name}`);
    if (a.name !== t.name) anchored.push(a);
  }
  defaults = { plain, all: [...anchored, ...plain] };
  return defaults;
}

const unboundPattern = (s: string) =>
  s
    .replace(/^\{UNB\}/, '')
    .replace(/^\{\^LN-BEG\}/, '')
    .replace(/^\((?:\?:)?\^\|\\b\|\\W\)/, '')
    .replace(/\(\?=\\b\|\\W\|\$\)$/, '');

/** Templates for a filter's `datepattern` (one or more lines), or the defaults when absent. */
export function dateTemplates(datepattern?: string): DateTemplate[] {
  if (datepattern === undefined) return defaultTemplates().all;
  const out: DateTemplate[] = [];
  const names = new Set<string>();
  const add = (t: DateTemplate, ignoreDup: boolean) => {
    if (names.has(t.name)) {
      if (ignoreDup) return;
      throw new Error(`there is already a date template named ${t.name}`);
    }
    names.add(t.name);
    out.push(t);
  };
  for (const line of datepattern
    .split(/\n+/)
    .map((s) => s.trim())
    .filter(Boolean)) {
    const key = line.includes('%') ? line : line.toUpperCase();
    if (key === '{^LN-BEG}' || key === '{DEFAULT}') {
      const ignoreDup = out.length > 0;
      for (const t of defaultTemplates().all) if (key === '{DEFAULT}' || t.flags & LINE_BEGIN) add(t, ignoreDup);
    } else if (key.includes('{DATE}')) {
      const ignoreDup = out.length > 0;
      for (const t of defaultTemplates().plain) {
        const wrap = (s: string) => line.replace(RE_DATE_PREMATCH, () => unboundPattern(s));
        add(t.pattern !== undefined ? patternTemplate(wrap(t.pattern)) : patternTemplate(wrap(t.name)), ignoreDup);
      }
    } else if (key === '{NONE}') add({ ...datePatternTemplate('{UNB}^'), name: '{NONE}' }, false);
    else add(patternTemplate(line, key), false);
  }
  return out;
}

/**
 * Where the date is in a line: [start, end) of the template's first group, or null. Like
 * fail2ban, a line-anchored template wins at once; otherwise the match nearest the line start.
 */
export function findDate(line: string, templates: readonly DateTemplate[]): [number, number] | null {
  let best: RegExpExecArray | null = null;
  for (const t of templates) {
    t.regex.lastIndex = 0;
    const m = t.regex.exec(line);
    if (!m) continue;
    if (t.flags & (LINE_BEGIN | LINE_END) || m.index <= 1) {
      best = m;
      break;
    }
    if (!best || m.index < best.index) best = m;
  }
  const span = best?.indices?.[1];
  return span ? [span[0], span[1]] : null;
}
