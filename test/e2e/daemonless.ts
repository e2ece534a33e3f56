import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Host, Lab } from '../../src/lab/netns.js';
import { SESAME_BIN } from '../../src/lab/processes.js';
import { tempDir } from './support.js';

/** The two ways to run doors with no sesame process: every daemonless e2e runs under both. */
export const BACKENDS = ['nft', 'iptables'] as const;
export type Backend = (typeof BACKENDS)[number];

/**
 * Writes `yaml` to a temp sesame.yaml and loads it into `host` the way a user would:
 * `sesame compile --format nft | nft -f -`, or for iptables both
 * `--format iptables-restore | iptables-restore` and the ip6tables pair. Loads it twice, since
 * loading twice must be harmless, and throws with the tool's stderr when a load fails.
 */
export async function loadDaemonless(lab: Lab, host: Host, yaml: string, backend: Backend): Promise<string> {
  const config = join(tempDir(), 'sesame.yaml');
  writeFileSync(config, yaml);
  const compile = (format: string) =>
    `${JSON.stringify(process.execPath)} ${JSON.stringify(SESAME_BIN)} compile -c ${config} --format ${format}`;
  const pipes =
    backend === 'nft'
      ? [`${compile('nft')} | nft -f -`]
      : [`${compile('iptables-restore')} | iptables-restore`, `${compile('ip6tables-restore')} | ip6tables-restore`];
  for (let i = 0; i < 2; i++) {
    for (const pipe of pipes) {
      const r = await lab.run(host, 'bash', ['-c', `set -o pipefail; ${pipe}`]);
      if (r.code !== 0) throw new Error(`${pipe} failed (${r.code}): ${r.stderr}`);
    }
  }
  return config;
}
