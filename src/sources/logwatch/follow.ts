import { type FSWatcher, watch } from 'node:fs';
import { constants } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { type FileIdentity, followStep, type OpenFile } from './follow-step.js';
import { LineBuffer } from './line-buffer.js';

export interface FollowOptions {
  /** Fallback poll period; inotify on the folder wakes the follower sooner. */
  readonly pollMs?: number;
  /** How long a rotated-away file is still read (the writer appends until it reopens). */
  readonly drainMs?: number;
  readonly onError?: (err: Error) => void;
}

interface Reader {
  handle: FileHandle;
  file: OpenFile;
  lines: LineBuffer;
  /** Keeps a UTF-8 character split across two reads whole. */
  decoder: StringDecoder;
  /** Set once the path names another file: read until then, then close. */
  retireAt?: number;
}

const CHUNK = 64 * 1024;
/** Line work between two turns of the event loop, at most (plus one line). */
const SLICE_MS = 10;

/**
 * Follows a log file across rotation like `tail -F` and calls `onLine` for each new line
 * (see follow-step.ts for the rules). Starts at the end of the file; a missing file is
 * waited for. Never throws after start: I/O problems go to `onError` and it keeps trying.
 */
export class FileFollower {
  private current?: Reader;
  private retired: Reader[] = [];
  private starting = true;
  private timer?: NodeJS.Timeout;
  private watcher?: FSWatcher;
  private running = false;
  private again = false;
  private stopped = false;
  /** The non-regular file last refused (reported once, not every poll). */
  private refused?: string;

  constructor(
    readonly path: string,
    private readonly onLine: (line: string) => void,
    private readonly opts: FollowOptions = {},
  ) {}

  /** Takes the starting position (end of file, if it exists) before resolving. */
  async start(): Promise<void> {
    await this.tick();
    this.starting = false;
    this.timer = setInterval(() => void this.tick(), this.opts.pollMs ?? 500);
    this.watchFolder();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.watcher?.close();
    for (const r of [...this.retired, ...(this.current ? [this.current] : [])]) await r.handle.close().catch(() => {});
    this.retired = [];
    this.current = undefined;
  }

  private watchFolder(): void {
    try {
      // inotify on the folder sees writes, renames and the file being created again
      this.watcher = watch(dirname(this.path), (_event, name) => {
        if (!name || name.toString().startsWith(basename(this.path))) void this.tick();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      // folder missing: polling still finds the file when it appears
    }
  }

  /** One pass; concurrent calls collapse into one more pass. */
  async tick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        await this.pass();
      } while (this.again && !this.stopped);
    } catch (err) {
      this.opts.onError?.(err as Error);
    } finally {
      this.running = false;
    }
  }

  private async pass(): Promise<void> {
    const now = Date.now();
    for (const r of this.retired) await this.drain(r);
    const expired = this.retired.filter((r) => (r.retireAt ?? 0) <= now);
    this.retired = this.retired.filter((r) => (r.retireAt ?? 0) > now);
    for (const r of expired) await r.handle.close().catch(() => {});

    for (let step = 0; step < 4 && !this.stopped; step++) {
      const atPath = await identity(this.path);
      const openSize = this.current ? (await this.current.handle.stat()).size : 0;
      const next = followStep(this.current?.file ?? null, atPath, openSize, this.starting);
      switch (next.kind) {
        case 'wait':
          return;
        case 'open':
          await this.openPath(next.from);
          if (next.from === 'end') return;
          break;
        case 'read':
          if (this.current) await this.drain(this.current);
          break;
        case 'truncated':
          if (this.current) {
            this.current.file = { ...this.current.file, position: 0 };
            this.current.lines.reset();
            this.current.decoder = new StringDecoder('utf8');
          }
          break;
        case 'replaced':
          if (this.current) {
            this.current.retireAt = now + (this.opts.drainMs ?? 10_000);
            this.retired.push(this.current);
            this.current = undefined;
          }
          break;
      }
    }
  }

  /**
   * Opens the path without blocking (O_NONBLOCK: opening a FIFO for reading would otherwise
   * wait for a writer, holding a libuv thread forever so the process could not exit), and
   * follows only regular files: a FIFO, socket or device in place of the log is reported once
   * and waited out like a missing file.
   */
  private async openPath(from: 'start' | 'end'): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await open(this.path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const s = await handle.stat();
    if (!s.isFile()) {
      await handle.close().catch(() => {});
      const id = `${s.dev}:${s.ino}`;
      if (this.refused === id) return;
      this.refused = id;
      throw new Error(`${this.path} is not a regular file (${kindOf(s)}): log doors follow plain files only`);
    }
    this.refused = undefined;
    this.current = {
      handle,
      file: { dev: s.dev, ino: s.ino, position: from === 'end' ? s.size : 0 },
      lines: new LineBuffer(),
      decoder: new StringDecoder('utf8'),
    };
  }

  /**
   * Reads everything appended since the last read and emits complete lines. After each
   * `SLICE_MS` of line work it lets the event loop run, so a burst of costly lines delays
   * the daemon's other doors (SPA, HTTP) by a slice, not by the whole burst.
   */
  private async drain(r: Reader): Promise<void> {
    const buf = Buffer.alloc(CHUNK);
    for (;;) {
      const { bytesRead } = await r.handle.read(buf, 0, CHUNK, r.file.position);
      if (bytesRead === 0) return;
      r.file = { ...r.file, position: r.file.position + bytesRead };
      let slice = performance.now();
      for (const line of r.lines.push(r.decoder.write(buf.subarray(0, bytesRead)))) {
        if (this.stopped) return;
        this.onLine(line);
        if (performance.now() - slice > SLICE_MS) {
          await new Promise((resolve) => setImmediate(resolve));
          slice = performance.now();
        }
      }
    }
  }
}

function kindOf(s: { isFIFO(): boolean; isSocket(): boolean; isDirectory(): boolean }): string {
  if (s.isFIFO()) return 'a FIFO';
  if (s.isSocket()) return 'a socket';
  return s.isDirectory() ? 'a folder' : 'a device';
}

async function identity(path: string): Promise<FileIdentity | null> {
  try {
    const s = await stat(path);
    return { dev: s.dev, ino: s.ino, size: s.size };
  } catch {
    return null;
  }
}
