/**
 * Which log events move which counters. The daemon and its sources already log every refusal,
 * command run and reload; metrics read those events instead of adding a call in every
 * source. Pure, and strict about label values: a door or reason an attacker can choose never
 * becomes a new time series (unknown doors are `other`, reasons are short words or `other`).
 */

export type MetricUpdate =
  | {
      readonly counter: 'refused';
      readonly labels: { readonly door: string; readonly source: string; readonly reason: string };
    }
  | {
      readonly counter: 'runs';
      readonly labels: { readonly door: string; readonly which: string; readonly result: 'ok' | 'failed' };
    }
  | { readonly counter: 'reloads'; readonly labels: { readonly result: 'ok' | 'rejected' | 'failed' } };

const REFUSALS: Record<string, string> = {
  'http-refused': 'http',
  'http-rate-limited': 'http',
  'http-bad-forwarded': 'http',
  'token-refused': 'token',
  'spa-refused': 'spa',
};

const label = (v: unknown) => {
  const text = String(v ?? '')
    .trim()
    .toLowerCase();
  return /^[a-z][a-z0-9 _-]{0,39}$/.test(text) ? text.replace(/\s+/g, '-') : 'other';
};

/** The counter a log event moves, if any. `doors` are the configured names (labels are limited to them). */
export function metricFor(
  event: string,
  fields: Record<string, unknown>,
  doors: ReadonlySet<string>,
): MetricUpdate | null {
  const door = typeof fields.door === 'string' && doors.has(fields.door) ? fields.door : 'other';
  const source = REFUSALS[event];
  if (source) {
    const reason =
      event === 'http-rate-limited'
        ? 'rate-limited'
        : event === 'http-bad-forwarded'
          ? 'bad-forwarded'
          : label(fields.reason);
    return { counter: 'refused', labels: { door, source, reason } };
  }
  if (event === 'run-start' || event === 'run-stop')
    return { counter: 'runs', labels: { door, which: event.slice(4), result: fields.exit === 0 ? 'ok' : 'failed' } };
  if (event === 'reloaded') return { counter: 'reloads', labels: { result: 'ok' } };
  if (event === 'reload-rejected') return { counter: 'reloads', labels: { result: 'rejected' } };
  if (event === 'reload-failed') return { counter: 'reloads', labels: { result: 'failed' } };
  return null;
}
