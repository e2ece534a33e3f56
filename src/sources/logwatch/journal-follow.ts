import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { journalctlArgs, parseJournalLine } from '../../core/journal.js';
import { LineBuffer } from './line-buffer.js';

export interface JournalFollowOptions {
  /** The journalctl to run (tests point it at a stand-in). */
  readonly journalctl?: string;
  /** Read journal files from this folder instead of the system journal (journalctl -D). */
  readonly directory?: string;
  /** Restart delays: doubled from `minBackoffMs` up to `maxBackoffMs`, reset after a healthy run. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** A journalctl silent this long is restarted (journald restarted under it and it stalled). */
  readonly stallMs?: number;
  /** How often the cursor is saved while entries arrive. */
  readonly saveMs?: number;
  readonly onError?: (err: Error) => void;
  /** journalctl ended or stalled and is started again after `delayMs`. */
  readonly onRestart?: (reason: string, delayMs: number) => void;
}

/** A JSON line of journalctl longer than this is cut and so dropped as unreadable. */
const MAX_JSON_LINE = 1024 * 1024;

/**
 * Follows the systemd journal through a `journalctl --follow --output=json` child and calls
 * `onLine` with each entry's line (core/journal.ts). The cursor of the last entry read is kept
 * in `cursorFile`, so a restart of sesame goes on after it instead of replaying. When journalctl
 * exits or goes silent past `stallMs` (journald restarted), it is started again after the last
 * cursor, with a bounded backoff. Never throws after start.
 */
export class JournalFollower {
  private child?: ChildProcess;
  private cursor: string | null = null;
  private saved: string | null = null;
  private stopped = false;
  private backoff: number;
  private restartTimer?: NodeJS.Timeout;
  private saveTimer?: NodeJS.Timeout;
  private stallTimer?: NodeJS.Timeout;
  private startedAt = 0;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    readonly matches: readonly string[],
    readonly cursorFile: string,
    private readonly onLine: (line: string) => void,
    private readonly opts: JournalFollowOptions = {},
  ) {
    this.backoff = opts.minBackoffMs ?? 500;
  }

  async start(): Promise<void> {
    this.cursor = readCursor(this.cursorFile);
    this.saved = this.cursor;
    this.spawnChild();
    this.saveTimer = setInterval(() => void this.save(), this.opts.saveMs ?? 1000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.stallTimer);
    clearInterval(this.saveTimer);
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000).unref())]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await this.save();
  }

  /** The cursor of the last entry handed on (null before the first). */
  get lastCursor(): string | null {
    return this.cursor;
  }

  private spawnChild(): void {
    if (this.stopped) return;
    const args = journalctlArgs(this.matches, this.cursor, this.opts.directory);
    const child = spawn(this.opts.journalctl ?? 'journalctl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.startedAt = Date.now();
    const lines = new LineBuffer(MAX_JSON_LINE);
    const decoder = new StringDecoder('utf8');
    let stderr = '';
    this.armStall(child);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (this.child !== child) return;
      this.armStall(child);
      for (const json of lines.push(decoder.write(chunk))) {
        const entry = parseJournalLine(json);
        if (!entry) continue;
        this.cursor = entry.cursor;
        this.onLine(entry.line);
        if (this.stopped || this.child !== child) return;
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    child.on('error', (err) => {
      this.opts.onError?.(new Error(`cannot run journalctl: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      if (this.child !== child || this.stopped) return;
      const why = signal ? `signal ${signal}` : `exit code ${code}`;
      this.restart(`journalctl ended (${why})${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''}`);
    });
  }

  /**
   * journalctl --follow writes nothing while nothing is logged, so silence alone is no stall;
   * it is restarted after `stallMs` of silence only to pick up a journald it lost (cheap: it
   * goes on after the cursor, so nothing is read twice).
   */
  private armStall(child: ChildProcess): void {
    clearTimeout(this.stallTimer);
    const ms = this.opts.stallMs ?? 60_000;
    this.stallTimer = setTimeout(() => {
      if (this.child !== child || this.stopped) return;
      this.child = undefined;
      child.kill('SIGKILL');
      this.respawn('quiet', 0);
    }, ms);
    this.stallTimer.unref();
  }

  private restart(reason: string): void {
    this.child = undefined;
    clearTimeout(this.stallTimer);
    // a run that lasted a while was healthy: start over from the shortest delay
    if (Date.now() - this.startedAt > 30_000) this.backoff = this.opts.minBackoffMs ?? 500;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs ?? 30_000);
    this.opts.onRestart?.(reason, delay);
    this.respawn(reason, delay);
  }

  private respawn(_reason: string, delay: number): void {
    void this.save();
    this.restartTimer = setTimeout(() => this.spawnChild(), delay);
    this.restartTimer.unref();
  }

  /** Saves one after another, so two writes never share the temporary file. */
  private save(): Promise<void> {
    this.saving = this.saving.then(() => this.saveNow());
    return this.saving;
  }

  /** Writes the cursor (new file then rename: a crash leaves the old cursor or the new). */
  private async saveNow(): Promise<void> {
    const cursor = this.cursor;
    if (cursor === null || cursor === this.saved) return;
    try {
      const tmp = `${this.cursorFile}.new`;
      await writeFile(tmp, `${cursor}\n`, { mode: 0o600 });
      await rename(tmp, this.cursorFile);
      this.saved = cursor;
    } catch (err) {
      this.opts.onError?.(new Error(`cannot save the journal cursor to ${this.cursorFile}: ${(err as Error).message}`));
    }
  }
}

/** The saved cursor, or null (none yet, or unreadable: then the door starts from now). */
export function readCursor(path: string): string | null {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return text !== '' && !/[\n\0]/.test(text) && text.length < 4096 ? text : null;
  } catch {
    return null;
  }
}
