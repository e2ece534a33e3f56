import { SesameError } from '../core/sesame-error.js';

/**
 * `~/.fwknoprc` stanzas, the file the fwknop client reads (`fwknop -n NAME`): `[default]`
 * and named sections of `VARIABLE value` lines. Pure: text in, the merged stanza out.
 */

export type FwknopRc = Readonly<Record<string, string>>;

export class FwknopRcError extends SesameError {
  static override readonly code = 'E_FWKNOPRC';
  override readonly name = 'FwknopRcError';
}

/** The `[name]` stanza over `[default]`; throws FwknopRcError when there is no such stanza. */
export function fwknopRcStanza(text: string, name: string, file = '~/.fwknoprc'): FwknopRc {
  const sections = new Map<string, Record<string, string>>();
  let current: Record<string, string> | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = {};
      sections.set(section[1].trim(), current);
      continue;
    }
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (m && current) current[m[1].toUpperCase()] = m[2].trim();
  }
  const stanza = sections.get(name);
  if (!stanza) {
    const names = [...sections.keys()].filter((n) => n !== 'default');
    throw new FwknopRcError(`${file}: no [${name}] stanza${names.length ? ` (it has ${names.join(', ')})` : ''}`);
  }
  return { ...(name === 'default' ? {} : (sections.get('default') ?? {})), ...stanza };
}
