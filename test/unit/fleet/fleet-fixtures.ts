import type { Door } from '../../../src/core/door.js';
import type { FleetSettings } from '../../../src/core/fleet-settings.js';
import { FleetClock } from '../../../src/fleet/fleet-clock.js';
import type { FleetContext } from '../../../src/fleet/fleet-context.js';
import { fleetKeys } from '../../../src/fleet/redis-keys.js';

export const KEY = Buffer.from('0123456789abcdef0123456789abcdef');

export const settings = (node: string): FleetSettings => ({
  redis: { host: '198.18.0.99', port: 6379, db: 0, tls: false },
  cluster: 'prod',
  node,
  keyFile: '/unused',
  replay: 'shared',
  streamLength: 10_000,
  maxClockOffsetMs: 30_000,
});

/** A door as the fleet sees it (name, ports, `for`). */
export const door = (name = 'web', over: Partial<Door> = {}): Door =>
  ({ kind: 'sequence', name, open: [{ port: 80, proto: 'tcp' }], forMs: 60_000, ...over }) as Door;

export type LogLine = { level: string; event: string; fields: Record<string, unknown> };

/** Node `node`'s context on the real clock, with its log lines kept in `lines`. */
export function fleetContext(node: string, localNow: () => number = Date.now): FleetContext & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    settings: settings(node),
    key: KEY,
    keys: fleetKeys('prod'),
    clock: new FleetClock(localNow, 30_000),
    localNow,
    log: (level, event, fields = {}) => lines.push({ level, event, fields }),
    lines,
  };
}

/** Resolves once `check` is true; fails after `ms`. */
export async function until(check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not reached within ${ms} ms: ${check}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
