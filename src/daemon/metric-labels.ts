import type { GrantEvent, RefusalEvent } from '../sources/door-source.js';
import type { CommandRun } from './daemon-events.js';

/**
 * The label values of the counters, from typed events. Pure, and strict: a door or reason an
 * attacker can choose never becomes a new time series (unknown doors are `other`, reasons are
 * short words or `other`).
 */

/** A short lowercase word (spaces become dashes), or `other`. */
export const label = (v: unknown): string => {
  const text = String(v ?? '')
    .trim()
    .toLowerCase();
  return /^[a-z][a-z0-9 _-]{0,39}$/.test(text) ? text.replace(/\s+/g, '-') : 'other';
};

const doorLabel = (door: string | undefined, doors: ReadonlySet<string>) =>
  door !== undefined && doors.has(door) ? door : 'other';

/** `sesame_knocks_refused_total`: `doors` are the configured names. */
export function refusalLabels(e: RefusalEvent, doors: ReadonlySet<string>) {
  return { door: doorLabel(e.door, doors), source: e.source, reason: label(e.reason) };
}

/** `sesame_run_commands_total`. */
export function runLabels(e: CommandRun, doors: ReadonlySet<string>) {
  return { door: doorLabel(e.door, doors), which: e.which, result: e.ok ? 'ok' : 'failed' };
}

/** `sesame_knocks_completed_total`: grants name configured doors; `via` is a source's short name. */
export function grantLabels(e: GrantEvent) {
  return { door: e.door, via: /^[a-z]{1,16}$/.test(e.via) ? e.via : 'other' };
}
