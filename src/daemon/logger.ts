import type { Logger } from '../core/contracts.js';

/** Event log (core/contracts.ts Logger): one line per event, text for a terminal or JSON for collectors. */
export type LogFormat = 'text' | 'json';

export function createLogger(
  format: LogFormat,
  write: (line: string) => void = (l) => process.stdout.write(l),
  debug = false,
): Logger {
  return {
    log(level, event, fields = {}) {
      if (level === 'debug' && !debug) return;
      const time = new Date().toISOString();
      if (format === 'json') {
        write(`${JSON.stringify({ time, level, event, ...fields })}\n`);
        return;
      }
      const parts = Object.entries(fields)
        .filter(([, v]) => v !== undefined)
        .map(
          ([k, v]) =>
            `${k}=${Array.isArray(v) ? v.join(',') : typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`,
        );
      write(
        `${time} ${level === 'info' ? '' : `${level.toUpperCase()} `}${event}${parts.length ? ` ${parts.join(' ')}` : ''}\n`,
      );
    },
  };
}
