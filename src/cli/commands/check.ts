import { loadConfigFile } from '../../config/load-config.js';
import { fleetLinkWarnings } from '../../core/fleet-settings.js';
import { unknownUserRefs } from '../../core/users.js';
import { compileNft } from '../../firewall/nft/compile.js';
import { Nftables } from '../../firewall/nftables.js';

/**
 * `sesame check`: validates the config and returns the ruleset `serve` would load.
 * As root with nft installed it also has the kernel dry-run it (`nft -c`), which changes nothing.
 * Weak spots it can see (a fleet's Redis without password or TLS, a log door's unanchored
 * regex) go to `note` as warnings.
 */
export async function check(file: string, opts: { kernel: boolean; note: (text: string) => void }): Promise<string> {
  const plan = loadConfigFile(file);
  if (plan.fleet) for (const w of fleetLinkWarnings(plan.fleet)) opts.note(`sesame: warning: ${w}`);
  for (const w of unknownUserRefs(plan.doors, plan.users)) opts.note(`sesame: warning: ${w}`);
  for (const w of plan.warnings ?? []) opts.note(`sesame: warning: ${w}`);
  const ruleset = compileNft(plan);
  if (opts.kernel) {
    if (process.getuid?.() === 0) await new Nftables().check(ruleset);
    else opts.note('sesame: not root, so the kernel dry run (nft -c) was skipped');
  }
  return ruleset;
}
