import { type FwknopAccessOptions, hidePorts } from '../../config/fwknop-access.js';
import { CliError } from '../cli-error.js';

/** The command-line flags that change how an access.conf is read (serve, doctor, import). */
export interface FwknopFlags {
  /** `--hide 22,udp/51820`: ports hidden for stanzas without OPEN_PORTS. */
  readonly hide?: string;
}

export function fwknopOptions(flags: FwknopFlags): FwknopAccessOptions {
  if (flags.hide === undefined) return {};
  const hide = hidePorts(flags.hide);
  if (typeof hide === 'string') throw new CliError('E_USAGE', `--hide: ${hide}`, 2);
  return { hide };
}
