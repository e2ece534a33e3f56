import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import type { Clock, ReplayCache } from '../../core/contracts.js';
import { ExpiringKeys } from '../../core/expiring-keys.js';
import { SesameError } from '../../core/sesame-error.js';

/** The journal can't be read or written; the message names the file and the cause. */
export class ReplayJournalError extends SesameError {
  static override readonly code = 'E_REPLAY_JOURNAL';
  override readonly name = 'ReplayJournalError';
  constructor(
    readonly file: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`replay journal ${file}: ${message}`, options);
  }
}

export interface JournalOptions {
  readonly now?: Clock;
  readonly maxEntries?: number;
  /** Appends between compactions, at least (more when many entries are live). */
  readonly compactAfter?: number;
  /** Told about lines it had to skip (a torn last line after a crash, or damage). */
  readonly warn?: (event: string, fields: Record<string, unknown>) => void;
}

// never follow a symlink someone planted in the state dir
const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;
const READ = constants.O_RDONLY | constants.O_NOFOLLOW;

/**
 * A replay cache that survives `kill -9` and restarts without rewriting itself per use: each
 * first use appends one line `["key",expiresMs]` with one write(2) before `use` answers, so
 * the kernel holds it even if the process dies next (not fsynced: a power cut can lose the
 * last uses, which expire within a minute or two anyway). Every `compactAfter` appends (or
 * more, when many entries are live) it rewrites the live entries to a new file and renames it
 * over the journal, so the file stays proportional to what is live. Expired lines are dropped
 * at load and compaction.
 */
export class JournalReplayCache implements ReplayCache {
  private readonly keys: ExpiringKeys;
  private readonly now: Clock;
  private readonly compactAfter: number;
  private fd: number;
  private appended = 0;
  /** Entries live at the last compaction: compacting less often than this keeps it amortized O(1). */
  private liveAtCompaction = 0;

  private constructor(
    readonly file: string,
    opts: JournalOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.compactAfter = opts.compactAfter ?? 4096;
    this.keys = new ExpiringKeys(opts.maxEntries ?? 100_000);
    const now = this.now();
    const { entries, skipped } = readJournal(file);
    for (const [key, expires] of entries) if (expires > now) this.keys.use(key, now, expires);
    if (skipped > 0) opts.warn?.('replay-journal-skipped', { file, lines: skipped });
    this.fd = -1;
    this.compact();
  }

  /** Loads `file` (created 0600 when missing) and compacts it. Throws ReplayJournalError. */
  static open(file: string, opts: JournalOptions = {}): JournalReplayCache {
    return new JournalReplayCache(file, opts);
  }

  use(key: string, ttlMs: number): boolean {
    if (this.fd < 0) throw new ReplayJournalError(this.file, 'used after close');
    const now = this.now();
    const expires = now + ttlMs;
    if (!this.keys.use(key, now, expires)) return false;
    try {
      writeSync(this.fd, `${JSON.stringify([key, expires])}\n`);
    } catch (cause) {
      // fail closed: the key stays used in memory, and the caller refuses this one
      throw new ReplayJournalError(this.file, `cannot append (${(cause as NodeJS.ErrnoException).code})`, { cause });
    }
    if (++this.appended >= Math.max(this.compactAfter, this.liveAtCompaction)) this.compact();
    return true;
  }

  /** Live entries, for tests and status. */
  get size(): number {
    return this.keys.size;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** Rewrites the live entries to a fresh file (created exclusively) and renames it over the journal. */
  private compact(): void {
    const { used } = this.keys.snapshot(this.now());
    const tmp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        writeSync(fd, used.map((e) => `${JSON.stringify(e)}\n`).join(''));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.file);
      if (this.fd >= 0) closeSync(this.fd);
      this.fd = openSync(this.file, APPEND, 0o600);
      this.appended = 0;
      this.liveAtCompaction = used.length;
    } catch (cause) {
      try {
        unlinkSync(tmp);
      } catch {
        // it was never created, or the rename took it
      }
      throw new ReplayJournalError(this.file, `cannot rewrite (${(cause as NodeJS.ErrnoException).code})`, { cause });
    }
  }
}

/** The journal's entries; lines that don't parse (a torn tail after a crash) are counted, not fatal. */
export function readJournal(file: string): { entries: [string, number][]; skipped: number } {
  let text: string;
  try {
    const fd = openSync(file, READ);
    try {
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { entries: [], skipped: 0 };
    // a journal we can't read must not be taken for an empty one: that re-opens every replay
    throw new ReplayJournalError(file, `cannot read (${code ?? cause})`, { cause });
  }
  const entries: [string, number][] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const e: unknown = JSON.parse(line);
      if (Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && Number.isFinite(e[1])) {
        entries.push([e[0], e[1]]);
        continue;
      }
    } catch {
      // counted below
    }
    skipped++;
  }
  return { entries, skipped };
}
