import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { OneTimeDoor, PortSpec, Sequence } from '../core/door.js';
import { parseKnockdSequence } from './knockd-sequence.js';
import { SesameError } from '../core/sesame-error.js';

/**
 * knockd's one_time_sequences file: one sequence a line (`7000,8000:udp,9000`), lines that
 * start with `#` (after blanks) are used or comments, lines that don't parse are skipped.
 * The first unused line is the active sequence. After a use, knockd writes `#` over the
 * line's first byte, in place: so a line written with a leading blank keeps its ports
 * readable (` 7000,8000` -> `#7000,8000`). sesame does exactly the same, so the file
 * can be shared with knockd and a one-byte write can't leave it half-written.
 */
export interface OneTimeLine {
  /** 1-based line number. */
  readonly line: number;
  /** Byte offset of the line's first byte, where `#` goes. */
  readonly offset: number;
  readonly ports: readonly PortSpec[];
}

export interface OneTimeScan {
  /** Unused, valid sequences in file order; the first is the active one. */
  readonly unused: readonly OneTimeLine[];
  /** Lines that are neither comments nor sequences, with the reason (knockd skips them too). */
  readonly skipped: readonly { line: number; message: string }[];
}

/** Parses the file's bytes (pure). Offsets are byte offsets, for the in-place mark. */
export function scanOneTimeSequences(bytes: Buffer): OneTimeScan {
  const unused: OneTimeLine[] = [];
  const skipped: { line: number; message: string }[] = [];
  let offset = 0;
  let line = 0;
  while (offset < bytes.length) {
    let end = bytes.indexOf(0x0a, offset);
    if (end < 0) end = bytes.length;
    line++;
    const text = bytes.subarray(offset, end).toString('utf8').trim();
    if (text !== '' && !text.startsWith('#')) {
      const seq = parseKnockdSequence(text);
      if (typeof seq === 'string') skipped.push({ line, message: seq });
      else unused.push({ line, offset, ports: seq.ports });
    }
    offset = end + 1;
  }
  return { unused, skipped };
}

/** Thrown when the sequence file can't be read; config loaders place it at the directive. */
export class OneTimeFileError extends SesameError {
  static override readonly code = 'E_ONE_TIME';
  override readonly name = 'OneTimeFileError';
}

/** Reads `file` and returns its active line (null when all are used) and skipped lines. */
export function readOneTimeFile(file: string): OneTimeScan & { active: OneTimeLine | null } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new OneTimeFileError(
      code === 'ENOENT'
        ? `one-time sequence file ${file} not found`
        : `cannot read one-time sequence file ${file}: ${String(cause)}`,
      { cause },
    );
  }
  const scan = scanOneTimeSequences(bytes);
  return { ...scan, active: scan.unused[0] ?? null };
}

/** Builds the door for the file's current state: the active line as the kernel's sequence. */
export function oneTimeDoor(
  base: Omit<OneTimeDoor, 'kind' | 'knock' | 'line'>,
  active: OneTimeLine | null,
): OneTimeDoor {
  const knock: Sequence | null = active ? { ports: active.ports, flags: base.flags, withinMs: base.withinMs } : null;
  return { ...base, kind: 'one-time', knock, line: active?.line ?? 0 };
}

/**
 * Marks the door's active sequence used: `#` over the first byte of the first unused line
 * holding that sequence (found again by content, as knockd does, in case the file was
 * edited), flushed to disk. Returns the door for the file's next state.
 */
export function useOneTimeSequence(door: OneTimeDoor): { door: OneTimeDoor; marked: number | null } {
  const scan = readOneTimeFile(door.file);
  const used = door.knock && scan.unused.find((l) => samePorts(l.ports, door.knock!.ports));
  if (used) {
    const fd = openSync(door.file, 'r+');
    try {
      writeSync(fd, '#', used.offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  const next = used ? (scan.unused.filter((l) => l !== used)[0] ?? null) : (scan.unused[0] ?? null);
  return { door: oneTimeDoor(door, next), marked: used ? used.line : null };
}

/** Re-reads the file without marking anything (start, reload). */
export function refreshOneTimeDoor(door: OneTimeDoor): OneTimeDoor {
  return oneTimeDoor(door, readOneTimeFile(door.file).active);
}

function samePorts(a: readonly PortSpec[], b: readonly PortSpec[]): boolean {
  return a.length === b.length && a.every((p, i) => p.port === b[i].port && p.proto === b[i].proto);
}
