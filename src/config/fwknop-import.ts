import type { SpaDoor } from '../core/door.js';
import { formatPort } from '../core/door.js';
import { SPA_DEFAULTS } from '../core/spa/policy.js';
import { formatSpaKeys } from '../core/spa/key-text.js';
import { ConfigError } from './config-error.js';
import { type FwknopAccessOptions, parseFwknopAccess } from './fwknop-access.js';

/** One key file to write: `<dir>/<door>.keys` holding the stanza's key pair. */
export interface KeyFile {
  readonly name: string;
  readonly text: string;
}

/**
 * `sesame import --fwknop-access access.conf`: the same doors as sesame.yaml. Keys go to one
 * file per door (written 0600 by the command when asked to), never into the YAML. What
 * sesame.yaml can't say (DESTINATION) is written as a comment at the door; a stanza it can't
 * hold at all (CMD_CYCLE_*) is refused with what to run instead.
 */
export function fwknopAccessToYaml(
  text: string,
  file: string,
  keysDir: string,
  opts: FwknopAccessOptions = {},
): { yaml: string; keys: KeyFile[] } {
  const doors = parseFwknopAccess(text, file, opts);
  const out: string[] = [
    `# sesame.yaml from ${file} (sesame import --fwknop-access)`,
    `# keys: one file per door in ${keysDir} (sesame import --keys-dir writes them, mode 0600)`,
    '# fwknop clients send to UDP 62201 by default (-P udp); tcp/http listeners are opt-in as in fwknopd',
    'spa: { udp: 62201 }',
    'doors:',
  ];
  const keys: KeyFile[] = [];
  const cycles = doors.filter((d) => d.spa.commands);
  if (cycles.length > 0)
    throw new ConfigError(
      cycles.map((d) => ({
        file,
        line: Number(d.spa.origin.split(':').pop()),
        column: 1,
        field: 'CMD_CYCLE_OPEN',
        message:
          'sesame.yaml has no CMD_CYCLE_OPEN/CLOSE; run this file as it is: sesame serve --fwknop-access ' + file,
      })),
    );
  for (const d of doors) {
    keys.push({
      name: `${d.name}.keys`,
      text: formatSpaKeys({ key: Buffer.from(d.spa.key!.key), hmacKey: Buffer.from(d.spa.key!.hmacKey) }),
    });
    out.push(...door(d, keysDir));
  }
  return { yaml: `${out.join('\n')}\n`, keys };
}

function door(d: SpaDoor, keysDir: string): string[] {
  const p = d.spa;
  const lines = [`  ${d.name}:   # ${p.origin}`];
  if (p.destinations)
    lines.push(`    # DESTINATION ${p.destinations.join(', ')}: not in sesame.yaml; keep --fwknop-access for it`);
  if (!p.openPorts)
    lines.push(
      '    # no OPEN_PORTS: any port a packet asks for is granted, as in fwknopd; `hide` lists the ports kept closed',
    );
  lines.push('    spa:', `      keys: ${keysDir}/${d.name}.keys`);
  if (p.expiresAtMs !== null)
    lines.push(`      expires: ${JSON.stringify(new Date(p.expiresAtMs).toISOString())}   # ACCESS_EXPIRE`);
  if (p.key!.hmacType !== 'sha256') lines.push(`      hmac: ${p.key!.hmacType}`);
  if (p.key!.legacy) lines.push('      mode: legacy');
  if (p.sources) lines.push(`      sources: [${p.sources.map((s) => JSON.stringify(s)).join(', ')}]`);
  if (p.restrictPorts.length) lines.push(`      restrict: [${p.restrictPorts.map(yamlPort).join(', ')}]`);
  if (p.maxTimeoutMs !== SPA_DEFAULTS.maxTimeoutMs) lines.push(`      max_for: ${p.maxTimeoutMs / 1000}s`);
  // fwknopd's default is N; sesame.yaml's is on, so it is always written
  lines.push(`      require_source: ${p.requireSource}`);
  if (p.usernames) lines.push(`      usernames: [${p.usernames.map((u) => JSON.stringify(u)).join(', ')}]`);
  lines.push(`    ${p.openPorts ? 'open' : 'hide'}: [${d.open.map(yamlPort).join(', ')}]`);
  lines.push(`    for: ${d.forMs / 1000}s`);
  return lines;
}

function yamlPort(p: { proto: 'tcp' | 'udp'; port: number }): string {
  return p.proto === 'tcp' ? String(p.port) : JSON.stringify(formatPort(p));
}
