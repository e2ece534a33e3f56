import { loadConfigFile } from '../../config/load-config.js';
import type { PortSpec, Proto } from '../../core/door.js';
import { parsePortSpec } from '../../core/port-spec.js';
import { knock } from '../../client/knock.js';
import { CliError } from '../cli-error.js';
import { type ProxyCliOptions, proxyKnockCommand } from './knock-proxy.js';

export interface KnockCliOptions {
  config?: string;
  delay: number;
  udp: boolean;
  ipv4: boolean;
  ipv6: boolean;
  verbose: boolean;
  close: boolean;
}

/** Turns `PORT[/proto]...` or `PORT[:proto]...` (knockd) or a door name into knocks. */
export function knocksFor(
  targets: readonly string[],
  opts: Pick<KnockCliOptions, 'config' | 'udp' | 'close'>,
): PortSpec[] {
  if (targets.length === 1 && !/^\d/.test(targets[0])) {
    const name = targets[0];
    if (!opts.config)
      throw new CliError('E_USAGE', `"${name}" is not a port; to knock a door by name, pass -c sesame.yaml`, 2);
    const door = loadConfigFile(opts.config).doors.find((d) => d.name === name);
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

export async function knockCommand(
  host: string,
  targets: string[],
  opts: KnockCliOptions & ProxyCliOptions,
): Promise<void> {
  if (opts.proxy || opts.thenConnect) return proxyKnockCommand(host, targets, opts);
  if (targets.length === 0) throw new CliError('E_USAGE', 'nothing to knock: give ports or a door name', 2);
  if (opts.ipv4 && opts.ipv6) throw new CliError('E_USAGE', '-4 and -6 exclude each other', 2);
  const ports = knocksFor(targets, opts);
  await knock(host, ports, {
    delayMs: opts.delay,
    family: opts.ipv4 ? 4 : opts.ipv6 ? 6 : undefined,
    verbose: opts.verbose ? (l) => process.stderr.write(`${l}\n`) : undefined,
  });
}
