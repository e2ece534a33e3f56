import type { Family } from '../core/door.js';

/** Names of sesame's kernel objects. One place, so the compiler, the applier and `status` agree. */
export const TABLE = 'sesame';
export const TABLE_REF = `inet ${TABLE}`;

export const grantSet = (door: string, f: Family) => `${door}_open_${f}`;
export const stageSet = (door: string, machine: 'k' | 'c', stage: number, f: Family) =>
  `${door}_${machine}${stage}_${f}`;
export const startSet = (door: string, machine: 'k' | 'c', f: Family) => `${door}_${machine}start_${f}`;
export const sweepSet = (f: Family) => `sweep_${f}`;

/** Parses a grant set name back into door and family; null for other sets. */
export function parseGrantSet(name: string): { door: string; family: Family } | null {
  const m = /^(.+)_open_(4|6)$/.exec(name);
  return m ? { door: m[1], family: Number(m[2]) as Family } : null;
}

/** NFLOG prefixes: `sesame open web`, `sesame close web`. */
export type LogEvent = 'open' | 'close';
/**
 * NFLOG prefixes: `sesame open web`, `sesame close web`, and for one-time doors the file line
 * of the sequence used (`sesame open otp #7`), so a late event can't burn the next line.
 */
export const logPrefix = (event: LogEvent, door: string, line?: number) =>
  `sesame ${event} ${door}${line ? ` #${line}` : ''}`;
export function parseLogPrefix(prefix: string): { event: LogEvent; door: string; line?: number } | null {
  const m = /^sesame (open|close) (\S+)(?: #(\d+))?$/.exec(prefix.replace(/\0+$/, '').trim());
  if (!m) return null;
  return { event: m[1] as LogEvent, door: m[2], ...(m[3] ? { line: Number(m[3]) } : {}) };
}
