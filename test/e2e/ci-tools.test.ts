import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { runRunner } from '../fixtures/ci-skip/run-runner.js';
import { e2eSkip, tempDir } from './support.js';

const SMALL_E2E = fileURLToPath(new URL('./knockd-malformed.test.js', import.meta.url));

/** A PATH with every program of the current one except `tool` (symlinks in a temporary dir). */
function pathWithout(tool: string, dir: string): string {
  for (const d of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    if (!existsSync(d)) continue;
    for (const name of readdirSync(d)) {
      if (name !== tool && !existsSync(join(dir, name))) symlinkSync(join(d, name), join(dir, name));
    }
  }
  return dir;
}

describe('CI=true with an e2e tool missing from PATH', { skip: e2eSkip({ curl: 'curl' }) }, () => {
  const bin = tempDir('sesame-path-');
  after(() => rmSync(bin, { recursive: true, force: true }));

  test('the run fails and names the missing tool (regression: skipped suites passed as "skipped 0")', async () => {
    const r = await runRunner(SMALL_E2E, { CI: 'true', PATH: pathWithout('curl', bin) });
    assert.notEqual(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /CI=true: \d+ test\(s\) or suite\(s\) skipped/);
    assert.match(r.stderr, /needs curl \(apt install curl\)/);
  });

  test('with every tool on PATH the same run passes (the positive control)', async () => {
    const r = await runRunner(SMALL_E2E, { CI: 'true' });
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});
