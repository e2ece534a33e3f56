import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fuzz } from '../../fuzz/run.js';
import { TARGETS } from '../../fuzz/spa-targets.js';

// about 30 s in the suite (10 s per target); `npm run fuzz` runs longer
const corpus = fileURLToPath(new URL('../../../../test/fuzz/corpus', import.meta.url));
const seed = Number(process.env.SESAME_FUZZ_SEED ?? Date.now() % 2 ** 31);

for (const target of TARGETS) {
  test(`fuzz: ${target.name} never throws and accepts only well-formed input (seed ${seed})`, async () => {
    const r = await fuzz(target, corpus, 10_000, seed);
    assert.ok(r.runs > 1000, `only ${r.runs} runs`);
    assert.deepEqual(
      r.failures.map((f) => `${f.error}\ninput: ${f.input.toString('base64')}`),
      [],
    );
  });
}

test('every packet of the signed corpus opens, so mutations start from accepted packets', async () => {
  const { readCorpus } = await import('../../fuzz/spa-targets.js');
  const { signedFuzzGate } = await import('../../fuzz/signed-targets.js');
  const pool = readCorpus(`${corpus}/signed`);
  assert.ok(pool.length >= 4);
  for (const p of pool) {
    const a = await signedFuzzGate.admit(p, '198.18.0.2', Date.now(), () => true);
    assert.ok(a.ok, JSON.stringify(a));
  }
});
