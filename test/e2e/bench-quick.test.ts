import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { execFile } from '../../src/firewall/exec.js';
import { e2eSkip, tempDir } from './support.js';

/**
 * Keeps the benchmark harness from rotting: `bench --quick` must run end to end and produce
 * well-formed results. Timings are never asserted here (they belong to the bench's report).
 */
const BENCH = fileURLToPath(new URL('../../bench/main.js', import.meta.url));
const SCENARIOS = ['knock-to-open', 'concurrency', 'noise', 'state-bound', 'footprint'];

const runBench = (args: string[], timeoutMs: number) =>
  execFile(process.execPath, [BENCH, ...args], undefined, { timeoutMs });

describe(
  'bench --quick',
  {
    skip: e2eSkip({
      iptables: 'iptables',
      python3: 'python3',
      knockd: 'knockd',
      'redis-server': 'redis-server',
      nginx: 'nginx',
      'fail2ban-server': 'fail2ban',
    }),
  },
  () => {
    test(
      'runs every scenario for sesame and knockd and writes JSON and a Markdown table',
      { timeout: 330_000 },
      async () => {
        const out = tempDir('sesame-bench-test-');
        try {
          const r = await runBench(['--quick', '--out', out], 320_000);
          assert.equal(r.code, 0, `bench exited ${r.code}:\n${r.stderr}`);

          const lines = r.stdout.split('\n').filter((l) => l.startsWith('{'));
          const results = lines.map((l) => JSON.parse(l));
          for (const scenario of SCENARIOS) {
            for (const tool of ['sesame', 'knockd']) {
              const found = results.find((x) => x.scenario === scenario && x.tool === tool);
              assert.ok(found, `no result for ${scenario}/${tool}`);
              assert.equal(typeof found.figures, 'object');
              assert.ok(
                Object.keys(found.figures).length > 0,
                `${scenario}/${tool} has no figures: ${JSON.stringify(found)}`,
              );
            }
          }

          // the web knocks on one nginx log: sesame's log door and fail2ban's reverse ban, tries that connected
          for (const tool of ['sesame', 'fail2ban']) {
            const found = results.find((x) => x.scenario === 'web-knock-log' && x.tool === tool);
            assert.ok(found?.figures.tries > 0, `no web-knock-log result for ${tool}: ${JSON.stringify(found)}`);
            assert.ok(found.samples.length > 0, `${tool}: no try connected after its web knock`);
          }
          const svg = readFileSync(join(out, 'latency.svg'), 'utf8');
          assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
          for (const row of ['knockd 0.8, port sequence', 'sesame, port sequence', 'fail2ban reverse ban, nginx log'])
            assert.ok(svg.includes(`data-label="${row}"`), `the latency plot has a row for ${row}`);

          const file = readdirSync(out).find((f) => f.endsWith('-quick.json'));
          assert.ok(file, `no results file in ${out}`);
          const saved = JSON.parse(readFileSync(join(out, file), 'utf8'));
          assert.equal(saved.quick, true);
          assert.equal(saved.results.length, results.length);
          const table = readFileSync(join(out, 'latest.md'), 'utf8');
          assert.match(table, /^\| figure \| sesame \| knockd \| goal \|$/m);
          assert.ok(r.stdout.includes(table.trim()), 'the table is printed at the end');
        } finally {
          rmSync(out, { recursive: true, force: true });
        }
      },
    );
  },
);
