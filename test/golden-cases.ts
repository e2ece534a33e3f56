import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { needsDaemon } from '../src/cli/commands/compile.js';
import { loadConfigFile } from '../src/config/load-config.js';
import { compileIptables } from '../src/firewall/iptables/compile.js';
import { compileNft } from '../src/firewall/nft/compile.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const examples = join(root, 'examples');
export const GOLDEN_DIR = join(root, 'test/golden');

/** One golden file: where it lives and how to render what it pins. */
export interface GoldenCase {
  readonly name: string;
  readonly file: string;
  render(): string;
}

/**
 * Every golden file: the nft ruleset of each example, and the iptables-restore texts of the
 * examples the kernel can run alone. Tests compare against these files and never write them;
 * `npm run golden` (scripts/update-golden.mjs) rewrites them after an intended change.
 */
export function goldenCases(): GoldenCase[] {
  const cases: GoldenCase[] = [];
  for (const yaml of readdirSync(examples).filter((f) => f.endsWith('.yaml'))) {
    const stem = basename(yaml, '.yaml');
    const plan = () => ({ ...loadConfigFile(join(examples, yaml)), source: `examples/${yaml}` });
    cases.push({ name: `${yaml} (nft)`, file: join(GOLDEN_DIR, `${stem}.nft`), render: () => compileNft(plan()) });
    if (plan().doors.some((d) => needsDaemon(d, 'iptables-restore'))) continue;
    for (const [f, ext] of [
      [4, 'iptables'],
      [6, 'ip6tables'],
    ] as const) {
      cases.push({
        name: `${yaml} (${ext})`,
        file: join(GOLDEN_DIR, `${stem}.${ext}`),
        render: () => compileIptables(plan(), f),
      });
    }
  }
  return cases;
}
