import { knock } from '../../client/knock.js';
import { CliError } from '../cli-error.js';
import { type ProxyCliOptions, proxyKnockCommand } from './knock-proxy.js';
import { type KnockCliOptions, knocksFor } from './knock-targets.js';

export async function knockCommand(
  host: string,
  targets: string[],
  opts: KnockCliOptions & ProxyCliOptions,
): Promise<void> {
  if (opts.proxy || opts.thenConnect) return proxyKnockCommand(host, targets, opts);
  if (targets.length === 0) throw new CliError('E_USAGE', 'nothing to knock: give ports or a door name', 2);
  if (opts.ipv4 && opts.ipv6) throw new CliError('E_USAGE', '-4 and -6 exclude each other', 2);
  const ports = await knocksFor(targets, opts);
  await knock(host, ports, {
    delayMs: opts.delay,
    family: opts.ipv4 ? 4 : opts.ipv6 ? 6 : undefined,
    verbose: opts.verbose ? (l) => process.stderr.write(`${l}\n`) : undefined,
  });
}
