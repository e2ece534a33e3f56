import type { Host, Lab } from '../../src/lab/netns.js';

/** What nmap says about a target: the state of each listed port, and of all the others. */
export interface ScanResult {
  /** Ports nmap listed one by one, with their state (`open`, `closed`, `filtered`, `open|filtered`). */
  readonly ports: Map<number, string>;
  /** The state of the ports nmap folded into "Not shown" (the host's usual answer), or null. */
  readonly others: string | null;
  state(port: number): string;
}

export type ScanType = '-sS' | '-sF' | '-sN' | '-sX';

/**
 * Runs a bounded nmap TCP scan from `client` against `target` and parses its XML output.
 * `--max-retries 1 -T4` and a host timeout keep it short; `extra` adds options
 * (e.g. `--scanflags SYNFIN`). Throws when nmap fails or the host timed out.
 */
export async function nmapScan(
  lab: Lab,
  client: Host,
  target: string,
  type: ScanType,
  ports: string,
  extra: readonly string[] = [],
): Promise<ScanResult> {
  const args = [
    type,
    ...extra,
    '-Pn',
    '-n',
    '-T4',
    '--max-retries',
    '1',
    '--host-timeout',
    '150s',
    ...(target.includes(':') ? ['-6'] : []),
    '-p',
    ports,
    '-oX',
    '-',
    target,
  ];
  const r = await lab.run(client, 'nmap', args, { timeoutMs: 180_000 });
  if (r.code !== 0) throw new Error(`nmap ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  if (/<hosthint|timedout="true"/.test(r.stdout) && !/<ports>/.test(r.stdout)) {
    throw new Error(`nmap ${args.join(' ')} timed out:\n${r.stdout}`);
  }
  const listed = new Map<number, string>();
  for (const m of r.stdout.matchAll(/<port protocol="tcp" portid="(\d+)"><state state="([^"]+)"/g)) {
    listed.set(Number(m[1]), m[2]);
  }
  const others = /<extraports state="([^"]+)"/.exec(r.stdout)?.[1] ?? null;
  return {
    ports: listed,
    others,
    state: (port) => listed.get(port) ?? others ?? 'unknown',
  };
}
