import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { WatchedGrant } from '../core/grant-book.js';

/**
 * The daemon's durable memory: grants it still has to see end (so `run.stop` runs even
 * after a crash or restart). Written atomically: temp file, then rename.
 */
export class StateFile {
  readonly path: string;
  constructor(readonly dir: string) {
    this.path = join(dir, 'grants.json');
  }

  read(): WatchedGrant[] {
    try {
      const data = JSON.parse(readFileSync(this.path, 'utf8'));
      return Array.isArray(data.grants) ? data.grants.filter(isGrant) : [];
    } catch {
      return [];
    }
  }

  write(grants: readonly WatchedGrant[]): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ version: 1, grants }, null, 1)}\n`, { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}

function isGrant(g: unknown): g is WatchedGrant {
  const x = g as WatchedGrant;
  return (
    !!x &&
    typeof x.door === 'string' &&
    typeof x.address === 'string' &&
    typeof x.until === 'number' &&
    (x.family === 4 || x.family === 6) &&
    (x.stop === undefined || typeof x.stop === 'string')
  );
}
