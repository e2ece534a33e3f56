import type { BenchResult } from './result.js';
import { percentile } from './stats.js';

/**
 * The knock → connected latency plot: one row per tool, every try a dot on a log-scale time
 * axis, a box from p25 to p75 with a bar at p50 and a tick at p99, and the p50/p99 printed
 * at the right. Pure string building (no dependency): the same rows give the same SVG.
 */

export interface PlotRow {
  readonly label: string;
  /** Milliseconds of every try that connected. */
  readonly samples: readonly number[];
  /** Tries made, when some never connected (shown as "k of n connected"). */
  readonly tries?: number;
  /** sesame's rows are drawn in one colour, the peers in another. */
  readonly ours: boolean;
}

/** Which results become rows, in display order: each peer above the sesame door it compares with. */
const ROWS: readonly { scenario: string; tool: string; label: string }[] = [
  { scenario: 'knock-to-open', tool: 'knockd', label: 'knockd 0.8, port sequence' },
  { scenario: 'knock-to-open', tool: 'sesame', label: 'sesame, port sequence' },
  { scenario: 'web-knock-log', tool: 'fail2ban', label: 'fail2ban reverse ban, nginx log' },
  { scenario: 'web-knock-log', tool: 'sesame', label: 'sesame log door, nginx log' },
  { scenario: 'web-knock-open', tool: 'sesame', label: 'sesame web endpoint (POST)' },
  { scenario: 'spa', tool: 'fwknopd', label: 'fwknopd 2.6, SPA packet' },
  { scenario: 'spa', tool: 'sesame', label: 'sesame, SPA packet' },
];

/** The plot's rows from a run's results: those with samples, in ROWS order. */
export function plotRows(results: readonly BenchResult[]): PlotRow[] {
  const rows: PlotRow[] = [];
  for (const r of ROWS) {
    const found = results.find((x) => x.scenario === r.scenario && x.tool === r.tool);
    if (!found?.samples) continue;
    const tries = found.figures.tries;
    rows.push({
      label: r.label,
      samples: found.samples,
      tries: typeof tries === 'number' ? tries : undefined,
      ours: r.tool === 'sesame',
    });
  }
  return rows;
}

const WIDTH = 960;
const LEFT = 250;
const RIGHT = 760;
const TOP = 84;
const ROW_H = 40;
const AXIS_H = 44;
const COLOURS = { ours: '#1f6feb', peer: '#d1661a' } as const;

/** Renders the rows as a standalone SVG document. */
export function latencySvg(rows: readonly PlotRow[], opts: { title: string; subtitle?: string }): string {
  const all = rows.flatMap((r) => r.samples).filter((v) => Number.isFinite(v) && v > 0);
  // whole decades around the data, at least 0.1 ms .. 10 ms
  const lo = Math.min(-1, Math.floor(Math.log10(all.length ? Math.min(...all) : 1)));
  const hi = Math.max(1, Math.ceil(Math.log10(all.length ? Math.max(...all) : 1)));
  const x = (ms: number) => LEFT + ((Math.log10(Math.max(ms, 10 ** lo)) - lo) / (hi - lo)) * (RIGHT - LEFT);
  const height = TOP + rows.length * ROW_H + AXIS_H;
  const axisY = TOP + rows.length * ROW_H;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="600">${esc(opts.title)}</text>`,
  ];
  if (opts.subtitle) out.push(`<text x="16" y="44" fill="#555">${esc(opts.subtitle)}</text>`);
  out.push(
    `<g class="legend"><circle cx="${RIGHT + 22}" cy="20" r="5" fill="${COLOURS.ours}"/><text x="${RIGHT + 32}" y="24">sesame</text>`,
    `<circle cx="${RIGHT + 102}" cy="20" r="5" fill="${COLOURS.peer}"/><text x="${RIGHT + 112}" y="24">peer</text></g>`,
  );

  out.push('<g class="grid" stroke="#ddd">');
  for (let d = lo; d <= hi; d++) {
    out.push(`<line x1="${f(x(10 ** d))}" y1="${TOP - 6}" x2="${f(x(10 ** d))}" y2="${axisY}"/>`);
    if (d < hi)
      for (const m of [2, 5])
        out.push(
          `<line x1="${f(x(m * 10 ** d))}" y1="${TOP - 6}" x2="${f(x(m * 10 ** d))}" y2="${axisY}" stroke-dasharray="2 3"/>`,
        );
  }
  out.push('</g>');
  out.push(`<g class="axis" text-anchor="middle" fill="#333">`);
  out.push(`<line x1="${LEFT}" y1="${axisY}" x2="${RIGHT}" y2="${axisY}" stroke="#333"/>`);
  for (let d = lo; d <= hi; d++) out.push(`<text x="${f(x(10 ** d))}" y="${axisY + 18}">${tickLabel(d)}</text>`);
  out.push(
    `<text x="${(LEFT + RIGHT) / 2}" y="${axisY + 38}" fill="#555">knock → connected (log scale)</text>`,
    '</g>',
  );
  out.push(`<text x="${RIGHT + 16}" y="${TOP - 12}" fill="#555">p50 / p99</text>`);

  rows.forEach((row, i) => {
    const mid = TOP + i * ROW_H + ROW_H / 2;
    const colour = row.ours ? COLOURS.ours : COLOURS.peer;
    const values = row.samples.filter((v) => Number.isFinite(v));
    const connected =
      row.tries !== undefined && row.tries !== values.length ? ` (${values.length} of ${row.tries})` : '';
    out.push(`<g class="row" data-label="${esc(row.label)}" data-n="${values.length}">`);
    out.push(`<text x="${LEFT - 12}" y="${mid + 4}" text-anchor="end">${esc(row.label)}${connected}</text>`);
    if (values.length === 0) {
      out.push(`<text x="${LEFT + 8}" y="${mid + 4}" fill="#999">no try connected</text>`, '</g>');
      return;
    }
    const [p25, p50, p75, p99] = [25, 50, 75, 99].map((q) => percentile(values, q));
    out.push(
      `<rect x="${f(x(p25))}" y="${mid - 11}" width="${f(Math.max(1, x(p75) - x(p25)))}" height="22" fill="${colour}" fill-opacity="0.12" stroke="${colour}"/>`,
      `<line class="p50" x1="${f(x(p50))}" y1="${mid - 13}" x2="${f(x(p50))}" y2="${mid + 13}" stroke="${colour}" stroke-width="3"/>`,
      `<line class="p99" x1="${f(x(p99))}" y1="${mid - 8}" x2="${f(x(p99))}" y2="${mid + 8}" stroke="${colour}" stroke-width="1.5"/>`,
    );
    values.forEach((v, j) => {
      // a fixed spread (golden-ratio steps), so dots at the same time stay visible and the SVG is reproducible
      const jitter = (((j * 0.618034) % 1) - 0.5) * 16;
      out.push(
        `<circle cx="${f(x(v))}" cy="${f(mid + jitter)}" r="2.2" fill="${colour}" fill-opacity="0.45"><title>${esc(ms(v))}</title></circle>`,
      );
    });
    out.push(`<text x="${RIGHT + 16}" y="${mid + 4}">${esc(`${ms(p50)} / ${ms(p99)}`)}</text>`, '</g>');
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function tickLabel(decade: number): string {
  const v = 10 ** decade;
  return v >= 1000 ? `${v / 1000} s` : `${Number(v.toPrecision(1))} ms`;
}

function ms(v: number): string {
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  return `${Number(v.toPrecision(v < 1 ? 2 : 3))} ms`;
}

const f = (n: number) => (Math.round(n * 10) / 10).toString();

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
