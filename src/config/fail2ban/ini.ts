import { SesameError } from '../../core/sesame-error.js';

/**
 * Python's configparser as fail2ban configures it (client/configparserinc.py): `[section]`
 * headers, `key = value` or `key: value` (keys lower-cased), continuation lines indented more
 * than their key (joined with `\n`, blank lines kept inside a value), `#`/`;` comment lines,
 * inline comments after whitespace + `;`, and `[DEFAULT]`. Pure.
 */

export type IniSection = Map<string, string>;

export interface IniFile {
  readonly defaults: IniSection;
  readonly sections: Map<string, IniSection>;
}

export class IniError extends SesameError {
  static override readonly code = 'E_INI';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'IniError';
  }
}

export function parseIni(text: string): IniFile {
  const defaults: IniSection = new Map();
  const sections = new Map<string, IniSection>();
  const values = new Map<IniSection, Map<string, string[]>>();
  let cur: IniSection | undefined;
  let curValues: Map<string, string[]> | undefined;
  let option: string | undefined;
  let indentLevel = 0;
  const seen = new Set<string>();
  let sectionName = '';
  text.split(/\r?\n/).forEach((line, index) => {
    const lineNo = index + 1;
    let commentStart = Number.POSITIVE_INFINITY;
    for (let i = line.indexOf(';'); i >= 0; i = line.indexOf(';', i + 1)) {
      if (i === 0 || /\s/.test(line[i - 1])) {
        commentStart = i;
        break;
      }
    }
    const isCommentLine = /^\s*[#;]/.test(line);
    if (isCommentLine) commentStart = 0;
    const value = (Number.isFinite(commentStart) ? line.slice(0, commentStart) : line).trim();
    if (!value) {
      if (!Number.isFinite(commentStart) && curValues && option) curValues.get(option)?.push('');
      return;
    }
    const indent = /\S/.exec(line)?.index ?? 0;
    if (cur && option && indent > indentLevel) {
      curValues?.get(option)?.push(value);
      return;
    }
    indentLevel = indent;
    const header = /^\[(.+)\]/.exec(value);
    if (header) {
      sectionName = header[1];
      if (sectionName === 'DEFAULT') cur = defaults;
      else {
        if (seen.has(`[${sectionName}`)) throw new IniError(lineNo, `section [${sectionName}] already exists`);
        seen.add(`[${sectionName}`);
        cur = sections.get(sectionName) ?? new Map();
        sections.set(sectionName, cur);
      }
      curValues = values.get(cur) ?? new Map();
      values.set(cur, curValues);
      option = undefined;
      return;
    }
    if (!cur || !curValues) throw new IniError(lineNo, `no [section] header before ${JSON.stringify(line)}`);
    const kv = /^(.*?)\s*([=:])\s*(.*)$/.exec(value);
    if (!kv || !kv[1]) throw new IniError(lineNo, `cannot read ${JSON.stringify(line)}; expected "key = value"`);
    option = kv[1].trimEnd().toLowerCase();
    const key = `${sectionName}\0${option}`;
    if (seen.has(key)) throw new IniError(lineNo, `option ${option} in [${sectionName}] already exists`);
    seen.add(key);
    curValues.set(option, [kv[3].trim()]);
  });
  for (const [section, opts] of values) {
    for (const [k, v] of opts) section.set(k, v.join('\n').trimEnd());
  }
  return { defaults, sections };
}
