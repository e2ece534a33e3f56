#!/usr/bin/env node
// Runs the compiled test suite with node:test. `node scripts/test.mjs [unit|e2e|FILTER]`.
// Under CI=true a skipped test fails the run: CI installs every tool, so a skip means a gap.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../dist/test/', import.meta.url).pathname;
const filter = process.argv[2] ?? '';
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.test.js') && path.includes(filter)) files.push(path);
  }
})(root);
if (files.length === 0) {
  console.error(`no test files match "${filter}" under ${root}`);
  process.exit(1);
}

const child = spawn(
  process.execPath,
  [
    '--test',
    '--test-reporter=spec',
    '--test-timeout=300000',
    `--test-concurrency=${process.env.SESAME_TEST_CONCURRENCY ?? 4}`,
    ...files,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
let output = '';
child.stdout.on('data', (d) => {
  output += d;
  process.stdout.write(d);
});
child.on('close', (code) => {
  const skipped = Number(/ℹ skipped (\d+)/.exec(output)?.[1] ?? 0);
  if (process.env.CI === 'true' && skipped > 0) {
    console.error(`\nCI=true: ${skipped} test(s) skipped; CI must run every e2e test (see the skip reasons above)`);
    process.exit(1);
  }
  process.exit(code ?? 1);
});
