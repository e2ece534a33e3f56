import { loadConfigFile } from '../../config/load-config.js';
import { compileNft } from '../../firewall/nft/compile.js';
import { Nftables } from '../../firewall/nftables.js';

/**
 * `sesame check`: validates the config and prints the ruleset `serve` would load.
 * With nft available it also asks the kernel to check the ruleset (`nft -c`), which changes nothing.
 */
export async function check(file: string, opts: { kernel: boolean }): Promise<string> {
  const plan = loadConfigFile(file);
  const ruleset = compileNft(plan);
  if (opts.kernel) await new Nftables().check(ruleset);
  return ruleset;
}
