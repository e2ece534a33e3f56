import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { needsDaemon } from '../src/cli/commands/compile.js';
import { loadConfigFile } from '../src/config/load-config.js';
import type { Door, Plan } from '../src/core/door.js';
import { formatSpaKeys } from '../src/core/spa/key-text.js';
import { base32Encode } from '../src/core/totp.js';
import { compileIptables } from '../src/firewall/iptables/compile.js';
import { compileNft } from '../src/firewall/nft/compile.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const examples = join(root, 'examples');
/** One config per door kind (and one with every kind), beyond what the examples show. */
const doorConfigs = join(root, 'test/fixtures/golden');
export const GOLDEN_DIR = join(root, 'test/golden');

/** One golden file: where it lives and how to render what it pins. */
export interface GoldenCase {
  readonly name: string;
  readonly file: string;
  /** The door kinds in the config, so a test can see every kind pinned. */
  kinds(): Door['kind'][];
  render(): string;
}

/**
 * Every golden file: the nft ruleset of each example and of each config in test/fixtures/golden,
 * and the iptables-restore texts of those the kernel can run alone. Tests compare against these
 * files and never write them; `npm run golden` (scripts/update-golden.mjs) rewrites them after an
 * intended change.
 */
export function goldenCases(): GoldenCase[] {
  const cases: GoldenCase[] = [];
  for (const yaml of yamlFiles(examples))
    cases.push(...casesFor(yaml, () => loadConfigFile(join(examples, yaml)), 'examples'));
  for (const yaml of yamlFiles(doorConfigs)) {
    cases.push(...casesFor(yaml, () => loadConfigFile(join(withSecrets(), yaml)), 'test/fixtures/golden'));
  }
  return cases;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
}

function casesFor(yaml: string, load: () => Plan, folder: string): GoldenCase[] {
  const stem = basename(yaml, '.yaml');
  // the header names the checked-in file, not the temporary copy
  const plan = () => ({ ...load(), source: `${folder}/${yaml}` });
  const kinds = () => plan().doors.map((d) => d.kind);
  const cases: GoldenCase[] = [
    { name: `${folder}/${yaml} (nft)`, file: join(GOLDEN_DIR, `${stem}.nft`), kinds, render: () => compileNft(plan()) },
  ];
  if (plan().doors.some((d) => needsDaemon(d, 'iptables-restore'))) return cases;
  for (const [f, ext] of [
    [4, 'iptables'],
    [6, 'ip6tables'],
  ] as const) {
    cases.push({
      name: `${folder}/${yaml} (${ext})`,
      file: join(GOLDEN_DIR, `${stem}.${ext}`),
      kinds,
      render: () => compileIptables(plan(), f),
    });
  }
  return cases;
}

let secretsDir: string | undefined;

/**
 * A copy of test/fixtures/golden with its secret files added: fixed bytes (the rulesets embed
 * what is derived from them), mode 0600 as the config loader demands, which git can't keep.
 */
function withSecrets(): string {
  if (secretsDir) return secretsDir;
  const dir = mkdtempSync(join(tmpdir(), 'sesame-golden-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  cpSync(doorConfigs, dir, { recursive: true });
  const secret = (name: string, text: string) => writeFileSync(join(dir, name), text, { mode: 0o600 });
  secret('spa.keys', formatSpaKeys({ key: Buffer.alloc(32, 0x11), hmacKey: Buffer.alloc(64, 0x22) }));
  secret('shared.secret', 'open-sesame-golden-0123456789\n');
  secret('shared-token.key', `${base32Encode(Buffer.alloc(20, 0x33))}\n`);
  secret('http.key', `${base32Encode(Buffer.alloc(20, 0x44))}\n`);
  secretsDir = dir;
  return dir;
}
