import type { Family } from '../../core/door.js';
import { type Exec, execFile } from '../exec.js';

/**
 * The rules of another iptables on the host, as `iptables-save` text: the legacy one
 * (`iptables-legacy-save`; x_tables, which apply next to nftables and `nft list ruleset`
 * doesn't show) or iptables-nft's view of its own tables (`iptables-nft-save`, which shows the
 * options of xt matches the nft JSON leaves out). Empty when the tool isn't installed or fails:
 * then there are no such rules to worry about.
 */
export async function iptablesRules(family: Family, variant: 'legacy' | 'nft', exec: Exec = execFile): Promise<string> {
  try {
    const r = await exec(`${family === 4 ? 'iptables' : 'ip6tables'}-${variant}-save`, []);
    return r.code === 0 ? r.stdout : '';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}
