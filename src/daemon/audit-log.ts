import { closeSync, openSync, readFileSync, readSync, fstatSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type AuditAnchor, type AuditRecord, lineHash, nextLine, parseLine } from '../core/audit-chain.js';
import type { Clock, Logger } from '../core/contracts.js';
import type { Unsubscribe } from '../sources/door-source.js';
import type { DaemonEvents } from './daemon-events.js';
import { openAppend, writeFileAtomic } from './state-dir.js';

export const AUDIT_FILE = 'audit.jsonl';
export const AUDIT_ANCHOR = 'audit.head';

/** Refusals of one kind written per second; the rest become one `suppressed` line with their count. */
const REFUSALS_PER_SECOND = 20;
/** How often the anchor follows the log: a crash loses at most this much of the tail's protection. */
const ANCHOR_EVERY_MS = 1000;

/**
 * STATE_DIR/audit.jsonl, appended by the daemon (core/audit-chain.ts has the format). A
 * restart continues the chain from the file's last line. Appends are synchronous, so lines
 * keep the order of the events; the anchor (audit.head) is rewritten at most once a second
 * and at close.
 */
export class AuditLog {
  private last: AuditAnchor | null;
  private anchorTimer?: NodeJS.Timeout;
  private readonly fd: number;

  private constructor(
    private readonly dir: string,
    private readonly logger: Logger,
    private readonly now: Clock,
  ) {
    const path = join(dir, AUDIT_FILE);
    this.last = lastLine(path);
    this.fd = openAppend(path);
  }

  /** Opens (or creates) the audit log in the state folder; null, logged, when it can't be written. */
  static open(dir: string, logger: Logger, now: Clock = Date.now): AuditLog | null {
    try {
      return new AuditLog(dir, logger, now);
    } catch (err) {
      logger.log('error', 'audit-unavailable', { dir, reason: String((err as Error).message) });
      return null;
    }
  }

  write(record: AuditRecord): void {
    const text = nextLine(record, this.last, new Date(this.now()));
    try {
      writeSync(this.fd, `${text}\n`);
    } catch (err) {
      this.logger.log('error', 'audit-write-failed', { reason: String((err as Error).message) });
      return;
    }
    this.last = { seq: (this.last?.seq ?? 0) + 1, hash: lineHash(text) };
    this.anchorTimer ??= setTimeout(() => this.anchor(), ANCHOR_EVERY_MS).unref();
  }

  close(): void {
    this.anchor();
    closeSync(this.fd);
  }

  private anchor(): void {
    clearTimeout(this.anchorTimer);
    this.anchorTimer = undefined;
    if (!this.last) return;
    try {
      writeFileAtomic(this.dir, AUDIT_ANCHOR, `${JSON.stringify(this.last)}\n`);
    } catch (err) {
      this.logger.log('error', 'audit-anchor-failed', { reason: String((err as Error).message) });
    }
  }
}

/** The last line's seq and hash (the chain goes on from there); null for a new or empty log. */
function lastLine(path: string): AuditAnchor | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    // the tail is enough: a line is well under 4 KB
    const size = fstatSync(fd).size;
    const len = Math.min(size, 16_384);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n').filter(Boolean);
    const text = lines.at(-1);
    if (!text) return null;
    // a damaged last line still anchors the next one: verify names it
    const seq = parseLine(text)?.seq ?? lines.length;
    return { seq, hash: lineHash(text) };
  } finally {
    closeSync(fd);
  }
}

/** Reads the anchor; null when there is none yet. */
export function readAnchor(dir: string): AuditAnchor | null {
  try {
    const a = JSON.parse(readFileSync(join(dir, AUDIT_ANCHOR), 'utf8')) as AuditAnchor;
    return Number.isInteger(a.seq) && typeof a.hash === 'string' ? a : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Writes every open, renew, close and refusal the daemon tells of. Refusals are capped per
 * kind and second (a flood must not fill the disk), with one line counting the rest.
 */
export function wireAudit(events: DaemonEvents, audit: AuditLog, node: string, now: Clock = Date.now): Unsubscribe {
  let window = 0;
  const counts = new Map<string, { source: string; reason: string; door?: string; n: number }>();
  const flushSuppressed = () => {
    for (const c of counts.values())
      if (c.n > REFUSALS_PER_SECOND)
        audit.write({ event: 'suppressed', via: c.source, reason: c.reason, count: c.n - REFUSALS_PER_SECOND, node });
    counts.clear();
  };
  // a second's suppressed count is written before the next second's first line
  const roll = () => {
    const second = Math.floor(now() / 1000);
    if (second === window) return;
    flushSuppressed();
    window = second;
  };
  const off = [
    events.on('granted', (e) => {
      roll();
      audit.write({
        event: e.renewed ? 'renew' : 'open',
        door: e.door,
        address: e.address,
        via: e.via,
        ports: e.ports.map((p) => `${p.port}/${p.proto}`),
        expires: new Date(e.expiresAt).toISOString(),
        node: e.origin ?? node,
      });
    }),
    events.on('revoked', (e) => {
      roll();
      audit.write({ event: 'close', door: e.door, address: e.address, reason: e.reason, node: e.origin ?? node });
    }),
    events.on('refused', (e) => {
      roll();
      const key = `${e.source}\0${e.reason}`;
      const c = counts.get(key) ?? { source: e.source, reason: e.reason, n: 0 };
      counts.set(key, c);
      if (++c.n > REFUSALS_PER_SECOND) return;
      audit.write({
        event: 'refused',
        via: e.source,
        reason: e.reason,
        // the door a refused knock named may be anyone's text: kept short
        ...(e.door ? { door: e.door.slice(0, 64) } : {}),
        ...(e.address ? { address: e.address } : {}),
        node,
      });
    }),
  ];
  return () => {
    flushSuppressed();
    for (const u of off) u();
  };
}
