import type { Door, PortSpec, Proto } from '../../core/door.js';
import { parsePortSpec } from '../../core/port-spec.js';
import { CliError } from '../cli-error.js';

/** What to knock, shared by `sesame knock` and its relaying modes (knock-proxy.ts). */
export interface KnockCliOptions {
  config?: string;
  delay: number;
  udp: boolean;
  ipv4: boolean;
  ipv6: boolean;
  verbose: boolean;
  close: boolean;
}

/**
 * The doors of a config file. The YAML parser and the schema are imported only here: a knock
 * by port numbers (and every ProxyCommand with --secret-file) starts without them.
 */
export async function configDoors(file: string): Promise<readonly Door[]> {
  const { loadConfigFile } = await import('../../config/load-config.js');
  const { anyInterface } = await import('../../config/host-interfaces.js');
  return loadConfigFile(file, { checkInterface: anyInterface }).doors;
}

/** Turns `PORT[/proto]...` or `PORT[:proto]...` (knockd) or a door name into knocks. */
export async function knocksFor(
  targets: readonly string[],
  opts: Pick<KnockCliOptions, 'config' | 'udp' | 'close'>,
): Promise<PortSpec[]> {
  if (targets.length === 1 && !/^\d/.test(targets[0])) {
    const name = targets[0];
    if (!opts.config)
      throw new CliError('E_USAGE', `"${name}" is not a port; to knock a door by name, pass -c sesame.yaml`, 2);
    const door = (await configDoors(opts.config)).find((d) => d.name === name);
    if (!door) throw new CliError('E_USAGE', `no door "${name}" in ${opts.config}`, 2);
    if (door.kind !== 'sequence') throw new CliError('E_USAGE', `door "${name}" is not a knock sequence door`, 2);
    if (opts.close && !door.close) throw new CliError('E_USAGE', `door "${name}" has no close sequence`, 2);
    return [...(opts.close ? door.close!.ports : door.knock.ports)];
  }
  const proto: Proto = opts.udp ? 'udp' : 'tcp';
  return targets.map((t) => {
    const p = parsePortSpec(t, proto);
    if (typeof p === 'string') throw new CliError('E_USAGE', `bad knock "${t}": ${p}`, 2);
    return p;
  });
}
