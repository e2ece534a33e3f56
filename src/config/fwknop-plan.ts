import type { Plan, SpaListen, SpaDoor } from '../core/door.js';
import { SPA_DEFAULTS } from '../core/spa/policy.js';
import { type FwknopAccessOptions, parseFwknopAccess } from './fwknop-access.js';
import { readConfigText } from './load-config.js';
import { configSchema } from './schema.js';

/** fwknopd's defaults: UDP 62201 only (its TCP server and HTTP mode are opt-in there too). */
export const FWKNOP_LISTEN: SpaListen = { udp: SPA_DEFAULTS.udpPort, tcp: null, http: null };

/**
 * `sesame serve --fwknop-access access.conf`: every stanza an spa door, in file order, with
 * sesame's other defaults. Throws ConfigError (file:line) and changes nothing.
 */
export function loadFwknopAccess(
  file: string,
  listen: SpaListen = FWKNOP_LISTEN,
  opts: FwknopAccessOptions = {},
): Plan {
  const doors: SpaDoor[] = parseFwknopAccess(readConfigText(file), file, opts);
  const defaults = configSchema.parse({ doors: {} });
  return Object.freeze({
    doors,
    nflogGroup: defaults.nflog_group,
    setSize: defaults.set_size,
    scanGuard: null,
    spaListen: listen,
    source: file,
  });
}
