/**
 * Reads the `failregex` / `ignoreregex` of a fail2ban filter file (filter.d/*.conf) as-is:
 * INI sections, multi-line values (one regex per line), `[INCLUDES] before/after` files,
 * `%(name)s` interpolation and `<name>` tags defined in `[DEFAULT]`, `[Init]` or `[Definition]`.
 * Pure: included files are read through `readInclude`.
 */

type Sections = Map<string, Map<string, string>>;

export interface FilterRegexes {
  readonly failregex: string[];
  readonly ignoreregex: string[];
}

/** Parses Python-configparser-style INI text (fail2ban's flavour). */
export function parseIni(text: string): Sections {
  const sections: Sections = new Map();
  let section: Map<string, string> | undefined;
  let key: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*[#;]/.test(raw)) continue;
    const header = /^\[([^\]]+)\]\s*$/.exec(raw);
    if (header) {
      section = sections.get(header[1]) ?? new Map();
      sections.set(header[1], section);
      key = undefined;
      continue;
    }
    if (/^\s+\S/.test(raw) && section && key !== undefined) {
      // a continuation line: one more regex of a multi-line value
      section.set(key, `${section.get(key)}\n${raw.trim()}`);
      continue;
    }
    const kv = /^([^\s=:][^=:]*?)\s*[=:]\s?(.*)$/.exec(raw);
    if (kv && section) {
      key = kv[1].trim();
      section.set(key, kv[2].trim());
    }
  }
  return sections;
}

function merge(into: Sections, from: Sections): void {
  for (const [name, vars] of from) {
    const target = into.get(name) ?? new Map();
    for (const [k, v] of vars) target.set(k, v);
    into.set(name, target);
  }
}

/**
 * Returns the regexes, or an error message. `readInclude(name)` returns the text of an
 * included file (relative to the filter's folder) or null when it doesn't exist.
 */
export function readFilter(
  text: string,
  readInclude: (name: string) => string | null = () => null,
): FilterRegexes | string {
  const own = parseIni(text);
  const includes = own.get('INCLUDES');
  const list = (v: string | undefined) => (v ?? '').split(/\s+/).filter(Boolean);
  const all: Sections = new Map();
  for (const name of list(includes?.get('before'))) {
    const inc = readInclude(name);
    if (inc === null) return `included file ${name} ([INCLUDES] before) not found next to the filter`;
    merge(all, parseIni(inc));
  }
  merge(all, own);
  for (const name of list(includes?.get('after'))) {
    const inc = readInclude(name);
    if (inc !== null) merge(all, parseIni(inc));
  }

  const vars = new Map<string, string>();
  for (const section of ['DEFAULT', 'Init', 'Definition']) for (const [k, v] of all.get(section) ?? []) vars.set(k, v);

  const expand = (value: string): string | { error: string } => {
    let out = value;
    for (let pass = 0; pass < 10; pass++) {
      let missing: string | undefined;
      const next = out.replace(/%\(([^)]+)\)s/g, (_, name: string) => {
        const v = vars.get(name);
        if (v === undefined) missing = name;
        return v ?? '';
      });
      if (missing) return { error: `%(${missing})s is not defined in the filter or its includes` };
      if (next === out) break;
      out = next;
    }
    // fail2ban also substitutes <name> tags for variables the filter defines (e.g. <block>)
    out = out.replace(/<([a-z][a-z0-9_]*)>/g, (tag, name: string) => vars.get(name) ?? tag);
    return out.replace(/%%/g, '%');
  };

  const regexes = (key: string): string[] | { error: string } => {
    const raw = all.get('Definition')?.get(key);
    if (raw === undefined) return [];
    const out: string[] = [];
    for (const line of raw.split('\n')) {
      const v = expand(line.trim());
      if (typeof v !== 'string') return v;
      if (v.trim()) out.push(v.trim());
    }
    return out;
  };
  const failregex = regexes('failregex');
  if (!Array.isArray(failregex)) return failregex.error;
  const ignoreregex = regexes('ignoreregex');
  if (!Array.isArray(ignoreregex)) return ignoreregex.error;
  if (failregex.length === 0) return 'the filter has no failregex in its [Definition] section';
  return { failregex, ignoreregex };
}
