import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { runRunner } from '../../fixtures/ci-skip/run-runner.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/ci-skip/${name}.js`, import.meta.url));

describe('the test runner under CI=true (regression: a skipped describe passed as "skipped 0")', () => {
  test('a skipped describe fails the run and is named', async () => {
    const r = await runRunner(fixture('skipped-describe'), { CI: 'true' });
    assert.notEqual(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /CI=true: 1 test\(s\) or suite\(s\) skipped/);
    assert.match(r.stderr, /a suite whose tool is missing .*needs frobnicate/);
  });

  test('a test skipped at run time inside a suite fails the run', async () => {
    const r = await runRunner(fixture('skipped-test'), { CI: 'true' });
    assert.notEqual(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /skips itself .*needs frobnicate/);
  });

  test('without CI a skip is reported but the run passes', async () => {
    const r = await runRunner(fixture('skipped-describe'), { CI: undefined });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /needs frobnicate/);
  });

  test('under CI=true a run with nothing skipped passes', async () => {
    const r = await runRunner(fixture('no-skip'), { CI: 'true' });
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});
