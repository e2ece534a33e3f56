// Over 300 lines on purpose: fail2ban's filter resolution (includes, .local files, [Init],
// options, recursive tags) is one algorithm, kept in the order fail2ban's own reader runs it.
import { basename, dirname, isAbsolute, join } from 'node:path';
import type { FilterDefinition } from '../../core/fail2ban/filter.js';
import type { UseDns } from '../../core/fail2ban/regex.js';
import { IniError, type IniSection, parseIni } from './ini.js';
import { SesameError } from '../../core/sesame-error.js';

/**
 * Reads a fail2ban filter (filter.d/NAME.conf) the way fail2ban's client does
 * (client/configparserinc.py, configreader.py, filterreader.py, helpers.substituteRecursiveTags):
 *   files: NAME.conf, NAME.d/*.conf, NAME.local, NAME.d/*.local, each with its
 *     `[INCLUDES] before/after` files (and their .local) around it, merged in that order; a
 *     value a later file overrides stays readable as `known/NAME`;
 *   `%(name)s` / `%(section/name)s` / `%(known/name)s` / `%(default/name)s` interpolation
 *     (configparser's, up to 10 deep, `%%` is `%`);
 *   filter options (`mode`, `logtype`, ...) and `[Init]` defaults, then `<tag>` substitution,
 *     innermost first and repeated (`<mdre-<mode>>`, `<lt_<logtype>/__prefix_line>`).
 * I/O arrives as `fs` so this stays testable.
 */

export interface FilterFs {
  /** File text, or null when it doesn't exist. */
  readText(path: string): string | null;
  /** Names of the files in a folder (empty when it doesn't exist). */
  list(dir: string): string[];
}

export interface FilterFile extends FilterDefinition {
  readonly journalmatch?: string;
  /** The files read, in merge order. */
  readonly files: readonly string[];
}

export class FilterFileError extends SesameError {
  static override readonly code = 'E_FILTER_FILE';
  constructor(message: string) {
    super(message);
    this.name = 'FilterFileError';
  }
}

const MAX_TAG_REPLACE_COUNT = 25;
const FILTER_OPTIONS = ['usedns', 'prefregex', 'ignoreregex', 'failregex', 'maxlines', 'datepattern', 'journalmatch'];

interface Merged {
  defaults: IniSection;
  sections: Map<string, IniSection>;
}

/** Reads and resolves a filter file; throws FilterFileError with the reason. */
export function readFilterFile(
  path: string,
  options: Readonly<Record<string, string>>,
  fs: FilterFs,
  backend?: 'file' | 'journal',
): FilterFile {
  const base = path.replace(/\.(conf|local)$/, '');
  const dotD = `${base}.d`;
  const sorted = (ext: string) =>
    fs
      .list(dotD)
      .filter((f) => f.endsWith(ext))
      .sort()
      .map((f) => join(dotD, f));
  const candidates = [`${base}.conf`, ...sorted('.conf'), `${base}.local`, ...sorted('.local')];
  const existing = candidates.filter((f) => fs.readText(f) !== null);
  if (existing.length === 0) throw new FilterFileError(`cannot read fail2ban filter ${path}: no such file`);
  const files = includes(existing, [], fs);
  const merged: Merged = { defaults: new Map(), sections: new Map() };
  for (const file of files) {
    let ini: ReturnType<typeof parseIni>;
    try {
      ini = parseIni(fs.readText(file) ?? '');
    } catch (err) {
      throw new FilterFileError(`${file}: ${err instanceof IniError ? err.message : String(err)}`);
    }
    for (const [k, v] of ini.defaults) merged.defaults.set(k, v);
    for (const [name, section] of ini.sections) {
      if (/^\w+\?.+$/.test(name)) continue; // conditional sections (name?cond=...): not used by filters
      const existingSection = merged.sections.get(name);
      if (existingSection) {
        const known = merged.sections.get(`KNOWN/${name}`) ?? new Map();
        for (const [k, v] of existingSection) if (section.has(k)) known.set(k, v);
        merged.sections.set(`KNOWN/${name}`, known);
        for (const [k, v] of section) existingSection.set(k, v);
      } else merged.sections.set(name, new Map(section));
    }
  }
  // fail2ban's FilterReader.applyAutoOptions: the backend's logtype unless the jail or the
  // filter's own [Definition] names one (so a journal door reads a filter as journal lines)
  const own = Object.keys(options).some((k) => k.toLowerCase() === 'logtype');
  const opts =
    backend && !own && !merged.sections.get('Definition')?.has('logtype') ? { ...options, logtype: backend } : options;
  return { ...resolve(merged, opts, basename(base)), files };
}

/** fail2ban's include order: before-files, the file, after-files (each with its .local). */
function includes(filenames: string[], seen: string[], fs: FilterFs): string[] {
  const expanded: string[] = [];
  for (const f of filenames) {
    expanded.push(f);
    const local = f.replace(/\.[^./]*$/, '') + '.local';
    if (!filenames.includes(local) && local !== f && fs.readText(local) !== null) expanded.push(local);
  }
  const out: string[] = [];
  for (const resource of expanded) {
    const text = fs.readText(resource);
    if (text === null) continue;
    let ini: ReturnType<typeof parseIni>;
    try {
      ini = parseIni(text);
    } catch (err) {
      throw new FilterFileError(`${resource}: ${(err as Error).message}`);
    }
    const inc = ini.sections.get('INCLUDES');
    const lists: Record<'before' | 'after', string[]> = { before: [], after: [] };
    for (const key of ['before', 'after'] as const) {
      const value = inc?.get(key);
      if (value === undefined) continue;
      for (const name of value.split('\n')) {
        if (name === '') continue;
        const r = isAbsolute(name) ? name : join(dirname(resource), name);
        if (seen.includes(r)) continue;
        lists[key].push(...includes([r], [...seen, resource], fs));
      }
    }
    out.push(...lists.before, resource, ...lists.after);
  }
  return out;
}

class Interpolation {
  constructor(private readonly m: Merged) {}

  private section(name: string): IniSection | undefined {
    return name === 'DEFAULT' ? this.m.defaults : this.m.sections.get(name);
  }

  has(section: string, option: string): boolean {
    return this.section(section)?.has(option) === true || this.m.defaults.has(option);
  }

  /** configparser get(section, option, vars) with fail2ban's `%(section/option)s` mapping. */
  get(section: string, option: string, vars: ReadonlyMap<string, string> = new Map()): string | undefined {
    const key = option.toLowerCase();
    const raw = vars.get(key) ?? this.section(section)?.get(key) ?? this.m.defaults.get(key);
    if (raw === undefined) return undefined;
    const map = (name: string): string | undefined => {
      if (name === '__name__') return section;
      const direct = vars.get(name) ?? this.section(section)?.get(name) ?? this.m.defaults.get(name);
      if (direct !== undefined) return direct;
      const slash = /^([\w-]+)\/(.+)$/.exec(name);
      if (!slash) return undefined;
      const [, sec, opt] = slash;
      const lower = sec.toLowerCase();
      if (lower === 'known') return this.m.sections.get(`KNOWN/${section}`)?.get(opt) ?? this.m.defaults.get(opt);
      if (lower === 'default') return this.m.defaults.get(opt);
      const s = this.m.sections.get(sec);
      if (!s) return undefined;
      return s.get(opt) ?? this.m.defaults.get(opt);
    };
    return this.interpolate(raw, map, section, key, 1);
  }

  private interpolate(
    rest: string,
    map: (name: string) => string | undefined,
    section: string,
    option: string,
    depth: number,
  ): string {
    if (depth > 10) throw new FilterFileError(`[${section}] ${option}: %(...)s interpolation deeper than 10 levels`);
    let out = '';
    let r = rest;
    while (r) {
      const p = r.indexOf('%');
      if (p < 0) return out + r;
      out += r.slice(0, p);
      r = r.slice(p);
      const c = r[1];
      if (c === '%') {
        out += '%';
        r = r.slice(2);
      } else if (c === '(') {
        const m = /^%\(([^)]+)\)s/.exec(r);
        if (!m)
          throw new FilterFileError(
            `[${section}] ${option}: bad interpolation variable reference ${JSON.stringify(r)}`,
          );
        const name = m[1].toLowerCase();
        r = r.slice(m[0].length);
        const v = map(name);
        if (v === undefined)
          throw new FilterFileError(`[${section}] ${option}: %(${m[1]})s is not defined in the filter or its includes`);
        out += v.includes('%') ? this.interpolate(v, map, section, option, depth + 1) : v;
      } else
        throw new FilterFileError(
          `[${section}] ${option}: '%' must be followed by '%' or '(', found ${JSON.stringify(r.slice(0, 20))}`,
        );
    }
    return out;
  }

  /** fail2ban's get_ex: `sec/opt` names read that section (`known/` the overridden value). */
  getEx(section: string, option: string, vars: ReadonlyMap<string, string>): string | undefined {
    const slash = option.includes('/') ? /^([\w-]+)\/([^\s>]+)$/.exec(option) : null;
    if (slash) {
      const lower = slash[1].toLowerCase();
      const secs = lower === 'known' ? [`KNOWN/${section}`, section] : [lower === 'default' ? 'DEFAULT' : slash[1]];
      const key = slash[2].toLowerCase();
      for (const sec of secs) {
        if (this.section(sec) && (this.section(sec)?.has(key) || this.m.defaults.has(key))) return this.get(sec, key);
      }
    }
    return this.get(section, option, vars);
  }
}

function resolve(
  m: Merged,
  options: Readonly<Record<string, string>>,
  name: string,
): FilterDefinition & {
  journalmatch?: string;
} {
  const ip = new Interpolation(m);
  const initOpts = new Map<string, string>(Object.entries(options).map(([k, v]) => [k.toLowerCase(), v]));
  const pOpts = new Map(initOpts);
  const opts = new Map<string, string>();
  for (const o of FILTER_OPTIONS) {
    if (pOpts.has(o)) continue;
    const v = ip.get('Definition', o, pOpts);
    if (v !== undefined) opts.set(o, v);
  }
  for (const [k] of m.sections.get('Init') ?? []) {
    if (k === '__name__') continue;
    const v = ip.get('Init', k) as string;
    if (!k.startsWith('known/')) initOpts.set(`known/${k}`, v);
    if (!initOpts.has(k)) initOpts.set(k, v);
  }
  const combined = new Map([...opts, ...initOpts]);
  const ignore = new Set<string>();
  for (const k of combined.keys()) {
    const cond = /^(\w+)(\?.+)$/.exec(k);
    if (cond) ignore.add(cond[1]);
  }
  const cache = new Map<string, string | undefined>();
  const addrepl = (tag: string) => {
    if (!cache.has(tag)) cache.set(tag, ip.getEx('Definition', tag, pOpts));
    return cache.get(tag);
  };
  const tags = substituteRecursiveTags(combined, ignore, addrepl, name);
  const list = (v: string | undefined) => (v ?? '').split('\n').filter((r) => r !== '');
  const failregex = list(tags.get('failregex'));
  if (failregex.length === 0) throw new FilterFileError('the filter has no failregex in its [Definition] section');
  const maxlines = tags.get('maxlines');
  if (maxlines !== undefined && !/^\s*\d+\s*$/.test(maxlines))
    throw new FilterFileError(`maxlines must be a whole number, got ${JSON.stringify(maxlines)}`);
  const usedns = tags.get('usedns')?.toLowerCase();
  if (usedns !== undefined && !['yes', 'warn', 'no', 'raw'].includes(usedns))
    throw new FilterFileError(`usedns must be yes, warn, no or raw, got ${JSON.stringify(usedns)}`);
  const def: FilterDefinition & { journalmatch?: string } = {
    failregex,
    ignoreregex: list(tags.get('ignoreregex')),
    ...(tags.get('prefregex') ? { prefregex: tags.get('prefregex') } : {}),
    ...(tags.get('datepattern') !== undefined ? { datepattern: tags.get('datepattern') } : {}),
    ...(maxlines !== undefined ? { maxlines: Number(maxlines) } : {}),
    ...(usedns !== undefined ? { usedns: usedns as UseDns } : {}),
    ...(tags.get('journalmatch') ? { journalmatch: tags.get('journalmatch') } : {}),
  };
  return def;
}

/** helpers.substituteRecursiveTags: `<tag>` replaced innermost first, repeated until stable. */
function substituteRecursiveTags(
  input: Map<string, string>,
  ignore: Set<string>,
  addrepl: (tag: string) => string | undefined,
  filterName: string,
): Map<string, string> {
  const tags = new Map(input);
  const done = new Set<string>();
  const repCounts = new Map<string, Map<string, number>>();
  const TAG = /<([^ <>]+)>/g;
  const search = (value: string, from: number) => {
    TAG.lastIndex = from;
    return TAG.exec(value);
  };
  for (;;) {
    let again = false;
    for (const tag of [...tags.keys()]) {
      if (ignore.has(tag) || done.has(tag)) continue;
      const orig = tags.get(tag) as string;
      let value = orig;
      const rplc = repCounts.get(tag) ?? new Map<string, number>();
      let m = search(value, 0);
      while (m) {
        const rtag = m[1];
        if (ignore.has(rtag)) {
          m = search(value, m.index + m[0].length);
          continue;
        }
        if (rtag === tag || (rplc.get(rtag) ?? 1) > MAX_TAG_REPLACE_COUNT)
          throw new FilterFileError(`filter ${filterName}: <${rtag}> in ${tag} refers to itself and can't be resolved`);
        const repl = tags.get(rtag) ?? addrepl(rtag);
        if (repl === undefined) {
          m = search(value, m.index + m[0].length); // e.g. <HOST>: a regex tag, not a variable
          continue;
        }
        value = value.split(`<${rtag}>`).join(repl);
        rplc.set(rtag, (rplc.get(rtag) ?? 0) + 1);
        m = search(value, m.index);
      }
      if (orig !== value) {
        if (search(value, 0)) {
          repCounts.set(tag, rplc);
          again = true;
        }
        tags.set(tag, value);
      }
      if (!value.includes('<')) done.add(tag);
    }
    if (!again) break;
  }
  return tags;
}
