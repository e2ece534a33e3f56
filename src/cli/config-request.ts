import type { ConfigProblem } from '../config/config-error.js';
import type { FwknopAccessOptions } from '../config/fwknop-access.js';
import type { Plan, SpaListen } from '../core/door.js';

/** What `serve` asks the config child (config-child.ts) to load. */
export type ConfigRequest =
  | { readonly kind: 'sesame'; readonly file: string; readonly readableSecrets: 'refuse' | 'warn' }
  | { readonly kind: 'knockd'; readonly file: string }
  | {
      readonly kind: 'fwknop';
      readonly file: string;
      readonly spaListen?: SpaListen;
      readonly access?: FwknopAccessOptions;
    };

/** A loaded config: the plan and, for a knockd.conf, its [options] and notes. */
export interface LoadedConfig {
  readonly plan: Plan;
  readonly logFile?: string;
  readonly pidFile?: string;
  readonly notes: readonly string[];
}

/** The child's answer: the config, or the problems that refused it, or another failure. */
export type ConfigAnswer = { readonly warnings: readonly ConfigProblem[] } & (
  | { readonly loaded: LoadedConfig }
  | { readonly problems: readonly ConfigProblem[] }
  | { readonly failure: { readonly message: string; readonly code?: string } }
);
