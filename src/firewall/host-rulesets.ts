import { type SaveTable, parseIptablesSave } from '../core/doctor/iptables-walk.js';
import { type NftRuleset, parseNftRuleset, xtTables } from '../core/doctor/nft-walk.js';
import { iptablesRules } from './iptables/iptables-save.js';
import { Nftables } from './nftables.js';

/** The rules of every firewall on the host besides sesame's, as `doctor` and `serve` judge them. */
export interface HostRulesets {
  readonly nft: NftRuleset;
  /** iptables-legacy's x_tables, which `nft list ruleset` doesn't show. */
  readonly legacy4: readonly SaveTable[];
  readonly legacy6: readonly SaveTable[];
  /** iptables-nft's view of its own tables, read when the nft JSON hides their matches' options. */
  readonly xtables4: readonly SaveTable[];
  readonly xtables6: readonly SaveTable[];
}

/** Reads them; nft failing (not installed, not root) throws the backend's FirewallError. */
export async function readHostRulesets(nft = new Nftables()): Promise<HostRulesets> {
  const ruleset = parseNftRuleset(await nft.listRuleset());
  const xt = xtTables(ruleset).size > 0;
  const save = async (family: 4 | 6, variant: 'legacy' | 'nft') =>
    parseIptablesSave(await iptablesRules(family, variant));
  return {
    nft: ruleset,
    legacy4: await save(4, 'legacy'),
    legacy6: await save(6, 'legacy'),
    xtables4: xt ? await save(4, 'nft') : [],
    xtables6: xt ? await save(6, 'nft') : [],
  };
}
