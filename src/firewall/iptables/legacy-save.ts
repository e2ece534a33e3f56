import type { Family } from '../../core/door.js';
import { type Exec, execFile } from '../exec.js';

/**
 * The rules of the legacy iptables (`iptables-legacy-save`, `ip6tables-legacy-save`), which
 * apply next to nftables on hosts that still have them (`sesame doctor` reads them). Empty when
 * the tool isn't installed or fails: then there are no legacy rules to worry about.
 */
export async function legacyIptablesRules(family: Family, exec: Exec = execFile): Promise<string> {
  try {
    const r = await exec(family === 4 ? 'iptables-legacy-save' : 'ip6tables-legacy-save', []);
    return r.code === 0 ? r.stdout : '';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}
