import { closeSync, existsSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { WatchedGrant } from '../core/grant-book.js';
import { openAppend, prepareStateDir, writeFileAtomic } from './state-dir.js';

/** Something in the state that could not be read: kept aside (never read as "nothing"). */
export interface StoreProblem {
  readonly event: 'state-corrupt' | 'state-torn-line';
  readonly path: string;
  /** Where the unreadable file was moved or copied, to read by hand. */
  readonly keptAs?: string;
  readonly reason: string;
}

const JOURNAL = 'grants.journal';
/** Written by sesame before the journal; read once and migrated. */
const LEGACY = 'grants.json';

/**
 * The daemon's durable memory: grants whose `run.stop` is still to run (so it runs after a
 * crash or restart). An append-only journal, one line per event (`{"open":{...}}` or
 * `{"close":{...}}`), written with one write(2) before the event's command is started, so a
 * knock flood costs one small append per new grant instead of rewriting every pending stop.
 * Every `compactAfter` appends (more when many grants are live) the live grants are written
 * to a new file that replaces the journal atomically.
 */
export class GrantStore {
  readonly path: string;
  private fd?: number;
  private live = new Map<string, WatchedGrant>();
  private appended = 0;
  private readonly compactAfter: number;

  constructor(
    readonly dir: string,
    opts: { compactAfter?: number } = {},
  ) {
    this.path = join(dir, JOURNAL);
    this.compactAfter = opts.compactAfter ?? 2048;
  }

  /**
   * Checks the state folder (StateDirError when others could write there), reads the
   * pending grants, and starts a fresh journal with them. A file that can't be read is
   * moved aside and reported, never taken for "no pending stops".
   */
  open(now = new Date()): { grants: WatchedGrant[]; problems: StoreProblem[] } {
    prepareStateDir(this.dir);
    const problems: StoreProblem[] = [];
    const stamp = now.toISOString().replace(/[:.]/g, '-');
    const legacy = join(this.dir, LEGACY);
    if (existsSync(legacy)) this.readLegacy(legacy, stamp, problems);
    if (existsSync(this.path)) this.readJournal(stamp, problems);
    this.compact();
    // migrated into the journal (an unreadable one was kept aside above)
    if (existsSync(legacy)) unlinkSync(legacy);
    return { grants: [...this.live.values()], problems };
  }

  /** Records a grant with a stop command (call before its start command runs). */
  opened(g: WatchedGrant): void {
    this.live.set(keyOf(g), g);
    this.append({ open: g });
  }

  /** A renewal of a recorded grant (same stop): remembered, not written (only the kernel's time changed). */
  renewed(g: WatchedGrant): void {
    if (this.live.has(keyOf(g))) this.live.set(keyOf(g), g);
  }

  /**
   * Records that grant `g` is done: its stop ran (or was refused). Written after the stop, so
   * a crash while it runs runs it again; a newer grant for the same address is left alone.
   */
  closed(g: WatchedGrant): void {
    if (this.live.get(keyOf(g)) !== g) return;
    this.live.delete(keyOf(g));
    this.append({ close: { door: g.door, address: g.address } });
  }

  /** Rewrites the journal as the live grants only, and closes it. */
  close(): void {
    this.compact();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private append(entry: object): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
    if (++this.appended >= Math.max(this.compactAfter, this.live.size)) this.compact();
  }

  private compact(): void {
    const text = [...this.live.values()].map((g) => `${JSON.stringify({ open: g })}\n`).join('');
    writeFileAtomic(this.dir, JOURNAL, text);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = openAppend(this.path);
    this.appended = 0;
  }

  private readLegacy(path: string, stamp: string, problems: StoreProblem[]): void {
    let grants: unknown[];
    try {
      const data = JSON.parse(readFileSync(path, 'utf8'));
      if (!Array.isArray(data?.grants)) throw new Error('no "grants" list');
      grants = data.grants;
    } catch (err) {
      const keptAs = `${path}.corrupt-${stamp}`;
      renameSync(path, keptAs);
      problems.push({ event: 'state-corrupt', path, keptAs, reason: String((err as Error).message) });
      return;
    }
    const bad = grants.filter((g) => !isGrant(g));
    for (const g of grants) if (isGrant(g)) this.live.set(keyOf(g), g);
    if (bad.length) {
      const keptAs = `${path}.corrupt-${stamp}`;
      writeFileAtomic(this.dir, `${LEGACY}.corrupt-${stamp}`, readFileSync(path, 'utf8'));
      problems.push({ event: 'state-corrupt', path, keptAs, reason: `${bad.length} unreadable entries` });
    }
  }

  private readJournal(stamp: string, problems: StoreProblem[]): void {
    const text = readFileSync(this.path, 'utf8');
    const lines = text.split('\n');
    // a last line without its newline is a write cut short by a crash: that event is lost, say so
    const torn = lines.pop();
    if (torn) problems.push({ event: 'state-torn-line', path: this.path, reason: `last line cut short: ${torn}` });
    const bad: number[] = [];
    lines.forEach((line, i) => {
      if (!this.replay(line)) bad.push(i + 1);
    });
    if (bad.length) {
      const keptAs = `${this.path}.corrupt-${stamp}`;
      writeFileAtomic(this.dir, `${JOURNAL}.corrupt-${stamp}`, text);
      problems.push({
        event: 'state-corrupt',
        path: this.path,
        keptAs,
        reason: `unreadable line${bad.length > 1 ? 's' : ''} ${bad.slice(0, 10).join(', ')}${bad.length > 10 ? '...' : ''}`,
      });
    }
  }

  /** Applies one journal line; false when it can't be read. */
  private replay(line: string): boolean {
    let entry: { open?: unknown; close?: { door?: unknown; address?: unknown } };
    try {
      entry = JSON.parse(line);
    } catch {
      return false;
    }
    if (isGrant(entry?.open)) {
      this.live.set(keyOf(entry.open), entry.open);
      return true;
    }
    const c = entry?.close;
    if (c && typeof c.door === 'string' && typeof c.address === 'string') {
      this.live.delete(keyOf({ door: c.door, address: c.address }));
      return true;
    }
    return false;
  }
}

const keyOf = (g: { door: string; address: string }) => `${g.door} ${g.address}`;

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
