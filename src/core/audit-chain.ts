import { createHash } from 'node:crypto';

/**
 * The audit log's hash chain (STATE_DIR/audit.jsonl): one JSON line per open, renew, close,
 * refusal or revocation; each line carries `seq` (one more than the line before) and `prev`,
 * the SHA-256 of the line before it as written. A changed line breaks the next line's `prev`,
 * a removed line breaks the `seq` run, and a cut tail is seen against the anchor (the last
 * `seq` and hash, kept beside the log in audit.head). Whoever can write both files can forge
 * a consistent history: lines shipped off the host (the journal, syslog) are the remedy. Pure.
 */

/** What happened, as a line says it; `seq`, `time` and `prev` are the chain's. */
export interface AuditRecord {
  readonly event: 'open' | 'renew' | 'close' | 'refused' | 'suppressed';
  readonly door?: string;
  readonly address?: string;
  readonly user?: string;
  /** How: `knock`, `http`, `spa`, `log`, `fleet`, `grant` (by hand)... */
  readonly via?: string;
  /** For a close: expired, close sequence, revoked, flushed; for a refusal: the source's word. */
  readonly reason?: string;
  readonly ports?: readonly string[];
  readonly expires?: string;
  /** The fleet node the event came from (this node's name for its own). */
  readonly node?: string;
  /** For `suppressed`: how many refusals of one kind were not written, one line each. */
  readonly count?: number;
}

export interface AuditLine extends AuditRecord {
  readonly seq: number;
  readonly time: string;
  readonly prev: string;
}

/** The anchor: the last line's seq and hash. */
export interface AuditAnchor {
  readonly seq: number;
  readonly hash: string;
}

/** `prev` of a log's first line. */
export const GENESIS = '0'.repeat(64);

export const lineHash = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The next line's text (no newline) after `last` (null: a new log). */
export function nextLine(record: AuditRecord, last: AuditAnchor | null, time: Date): string {
  const line: AuditLine = {
    seq: (last?.seq ?? 0) + 1,
    time: time.toISOString(),
    ...record,
    prev: last?.hash ?? GENESIS,
  };
  return JSON.stringify(line);
}

export type VerifyResult =
  | { readonly ok: true; readonly lines: number; readonly last: AuditAnchor | null; readonly unanchored: number }
  | { readonly ok: false; readonly line: number; readonly problem: string };

/**
 * Checks a log's lines (without their newlines; a trailing empty one is ignored) against
 * each other and the anchor. Names the first line that was changed, where lines were removed,
 * or that the tail was cut.
 */
export function verifyChain(lines: readonly string[], anchor: AuditAnchor | null): VerifyResult {
  const texts = lines.at(-1) === '' ? lines.slice(0, -1) : lines;
  let before: { seq: number; hash: string } | null = null;
  let anchored = anchor === null;
  for (let i = 0; i < texts.length; i++) {
    const n = i + 1;
    const rec = parseLine(texts[i]);
    if (!rec) return { ok: false, line: n, problem: `line ${n} is not an audit line: it was changed` };
    if (before === null) {
      if (rec.seq === 1 && rec.prev !== GENESIS)
        return { ok: false, line: n, problem: `line ${n} starts the log but names a line before it: it was changed` };
    } else if (rec.seq !== before.seq + 1) {
      return {
        ok: false,
        line: n,
        problem:
          rec.seq > before.seq + 1
            ? `${rec.seq - before.seq - 1} line(s) removed before line ${n} (seq ${before.seq} is followed by ${rec.seq})`
            : `line ${n} has seq ${rec.seq} after ${before.seq}: lines were moved or changed`,
      };
    } else if (rec.prev !== before.hash) {
      return {
        ok: false,
        line: n - 1,
        problem: `line ${n - 1} was changed (line ${n} holds the hash of another text)`,
      };
    }
    before = { seq: rec.seq, hash: lineHash(texts[i]) };
    if (anchor && rec.seq === anchor.seq) {
      if (before.hash !== anchor.hash)
        return { ok: false, line: n, problem: `line ${n} was changed (it is not the line the anchor recorded)` };
      anchored = true;
    }
  }
  if (!anchored) {
    const end = before?.seq ?? 0;
    return {
      ok: false,
      line: texts.length + 1,
      problem:
        end < anchor!.seq
          ? `the log was cut: it ends at seq ${end}, the anchor recorded seq ${anchor!.seq}`
          : `the line the anchor recorded (seq ${anchor!.seq}) is missing`,
    };
  }
  return {
    ok: true,
    lines: texts.length,
    last: before,
    unanchored: anchor && before ? before.seq - anchor.seq : 0,
  };
}

/** A line's fields when it is a well-formed audit line, else null. */
export function parseLine(text: string): AuditLine | null {
  let rec: unknown;
  try {
    rec = JSON.parse(text);
  } catch {
    return null;
  }
  if (!rec || typeof rec !== 'object') return null;
  const r = rec as Partial<AuditLine>;
  if (!Number.isInteger(r.seq) || (r.seq as number) < 1) return null;
  if (typeof r.prev !== 'string' || !/^[0-9a-f]{64}$/.test(r.prev)) return null;
  if (typeof r.time !== 'string' || typeof r.event !== 'string') return null;
  return r as AuditLine;
}
