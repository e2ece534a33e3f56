#!/usr/bin/env node
// Runs the compiled test suite with node:test. `node scripts/test.mjs [unit|e2e|FILTER...|FILE.js]`
// (several filters: files matching any of them).
// Under CI=true any skip fails the run, whether a test or a whole describe was skipped: CI
// installs every tool, so a skip means a gap (scripts/skip-reporter.mjs counts them).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../dist/test/', import.meta.url).pathname;
const filters = process.argv.slice(2);
const filter = filters.join(' ');
const files = filters.length === 1 && existsSync(filter) && statSync(filter).isFile() ? [filter] : [];
if (files.length === 0)
  (function walk(dir) {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.test.js') && (filters.length === 0 || filters.some((f) => path.includes(f))))
        files.push(path);
    }
  })(root);
if (files.length === 0) {
  console.error(`no test files match "${filter}" under ${root}`);
  process.exit(1);
}

const skipDir = mkdtempSync(join(tmpdir(), 'sesame-skips-'));
const skipFile = join(skipDir, 'skips.jsonl');
const child = spawn(
  process.execPath,
  [
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${new URL('./skip-reporter.mjs', import.meta.url).pathname}`,
    `--test-reporter-destination=${skipFile}`,
    '--test-timeout=300000',
    `--test-concurrency=${process.env.SESAME_TEST_CONCURRENCY ?? 4}`,
    ...files,
  ],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
child.on('close', (code) => {
  let skips = [];
  try {
    skips = readFileSync(skipFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  rmSync(skipDir, { recursive: true, force: true });
  if (process.env.CI === 'true' && skips.length > 0) {
    console.error(`\nCI=true: ${skips.length} test(s) or suite(s) skipped; CI must run every test:`);
    for (const s of skips) console.error(`  - ${s.name} (${s.file ?? '?'}): ${s.reason}`);
    process.exit(1);
  }
  process.exit(code ?? 1);
});
