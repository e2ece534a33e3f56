/** Small pure statistics for the benchmark figures. */

/** The q-th percentile (0..100) of `values` by nearest rank; NaN when empty. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((q / 100) * sorted.length)));
  return sorted[rank - 1];
}

/** Rounds to `digits` decimals, for JSON that stays readable. */
export const round = (n: number, digits = 3) => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : n);

/** p50/p95/p99/max of a list of milliseconds, rounded to µs. */
export function latencySummary(ms: readonly number[]) {
  return {
    p50_ms: round(percentile(ms, 50)),
    p95_ms: round(percentile(ms, 95)),
    p99_ms: round(percentile(ms, 99)),
    max_ms: round(Math.max(...ms)),
  };
}

/** `part / whole` as a percentage with one decimal. */
export const share = (part: number, whole: number) => (whole === 0 ? 0 : round((100 * part) / whole, 1));
