import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { latencySvg, type PlotRow, plotRows } from '../../../bench/latency-plot.js';
import type { BenchResult } from '../../../bench/result.js';

/** Every opened tag is closed in order (the SVG is well-formed XML as far as tags go). */
function assertBalanced(svg: string): void {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (selfClosing) continue;
    if (closing) assert.equal(stack.pop(), name, `</${name}> closes another element`);
    else stack.push(name);
  }
  assert.deepEqual(stack, [], 'every element is closed');
}

const count = (svg: string, pattern: RegExp) => [...svg.matchAll(pattern)].length;

const rows: PlotRow[] = [
  { label: 'knockd 0.8, port sequence', samples: [1023.2, 1025.9, 1021.4], ours: false },
  { label: 'sesame, port sequence', samples: [0.21, 0.35, 0.2, 1.2], ours: true },
  { label: 'fail2ban reverse ban', samples: [], tries: 5, ours: false },
];

describe('bench latency plot (SVG writer)', () => {
  test('one row group per tool, one dot per try, p50/p99 printed, well-formed', () => {
    const svg = latencySvg(rows, { title: 'knock → connected', subtitle: 'quick run' });
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 \d+ \d+"/);
    assert.ok(svg.endsWith('</svg>\n'));
    assertBalanced(svg);
    assert.equal(count(svg, /<g class="row"/g), 3);
    assert.equal(count(svg, /<circle cx=/g) - 2, 7, 'a dot per sample (plus the 2 legend dots)');
    assert.match(svg, /data-label="sesame, port sequence" data-n="4"/);
    // nearest-rank percentiles of [0.2, 0.21, 0.35, 1.2]: p50 0.21, p99 1.2
    assert.match(svg, />0\.21 ms \/ 1\.2 ms</);
    assert.match(svg, />1\.02 s \/ 1\.03 s</);
    assert.match(svg, /fail2ban reverse ban \(0 of 5\)<\/text>\n<text [^>]*>no try connected</);
    assert.equal(count(svg, /class="p50"/g), 2, 'no box for the row without samples');
  });

  test('the log axis spans whole decades around the data, with time labels', () => {
    const svg = latencySvg(rows, { title: 't' });
    const ticks = [...svg.matchAll(/<text x="[\d.]+" y="\d+">([\d.]+ m?s)<\/text>/g)].map((m) => m[1]);
    assert.deepEqual(ticks, ['0.1 ms', '1 ms', '10 ms', '100 ms', '1 s', '10 s']);
    // a faster dot lies left of a slower one
    const x = (ms: string) => Number(new RegExp(`cx="([\\d.]+)"[^>]*><title>${ms}<`).exec(svg)?.[1]);
    assert.ok(x('0.2 ms') < x('1.2 ms') && x('1.2 ms') < x('1.02 s'));
  });

  test('labels and titles are escaped, NaN samples are left out, and the output is reproducible', () => {
    const hostile: PlotRow[] = [{ label: '<script>alert("x")</script> & co', samples: [5, Number.NaN, 7], ours: true }];
    const svg = latencySvg(hostile, { title: 'a < b & "c"' });
    assert.ok(!svg.includes('<script>'));
    assert.match(svg, /&#60;script&#62;alert\(&#34;x&#34;\)&#60;\/script&#62; &#38; co/);
    assert.match(svg, /a &#60; b &#38; &#34;c&#34;/);
    assert.match(svg, /data-n="2"/);
    assertBalanced(svg);
    assert.equal(svg, latencySvg(hostile, { title: 'a < b & "c"' }));
  });

  test('no rows still gives a valid, empty plot', () => {
    const svg = latencySvg([], { title: 'empty' });
    assertBalanced(svg);
    assert.equal(count(svg, /<g class="row"/g), 0);
  });

  test('plotRows takes the results with samples, peers above the sesame door they compare with', () => {
    const results: BenchResult[] = [
      { scenario: 'knock-to-open', tool: 'sesame', figures: { tries: 10 }, samples: [0.2] },
      { scenario: 'knock-to-open', tool: 'knockd', figures: { tries: 10 }, samples: [1020] },
      { scenario: 'web-knock-verify', tool: 'sesame', figures: { hmac_valid_per_s: 1 } },
      { scenario: 'web-knock-log', tool: 'fail2ban', figures: {}, notes: ['fail2ban is not installed'] },
      { scenario: 'web-knock-log', tool: 'sesame', figures: { tries: 9 }, samples: [3, 4] },
      { scenario: 'spa', tool: 'sesame', figures: { tries: 10 }, samples: [2] },
    ];
    assert.deepEqual(
      plotRows(results).map((r) => [r.label, r.samples.length, r.tries, r.ours]),
      [
        ['knockd 0.8, port sequence', 1, 10, false],
        ['sesame, port sequence', 1, 10, true],
        ['sesame log door, nginx log', 2, 9, true],
        ['sesame, SPA packet', 1, 10, true],
      ],
    );
  });
});
