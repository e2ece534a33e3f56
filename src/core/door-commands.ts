import type { Family, RunCommands } from './door.js';

/**
 * The command template a door runs for a knocker of `family`: `start6`/`stop6` for IPv6 when
 * given (an empty one means nothing runs, as in knockd), else `start`/`stop`.
 */
export function commandFor(run: RunCommands | undefined, which: 'start' | 'stop', family: Family): string | undefined {
  if (!run) return undefined;
  const v6 = which === 'start' ? run.start6 : run.stop6;
  const template = family === 6 && v6 !== undefined ? v6 : run[which];
  return template ? template : undefined;
}
