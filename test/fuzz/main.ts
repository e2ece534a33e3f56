import { fileURLToPath } from 'node:url';
import { fuzz } from './run.js';
import { TARGETS } from './spa-targets.js';

// `npm run fuzz [-- SECONDS [SEED]]`: every target for SECONDS each (default 120), crashes in test/fuzz/crashes/
const seconds = Number(process.argv[2] ?? process.env.SESAME_FUZZ_SECONDS ?? 120);
const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
const root = fileURLToPath(new URL('../../../test/fuzz/', import.meta.url));
let failed = 0;
for (const t of TARGETS) {
  const r = await fuzz(t, `${root}corpus`, seconds * 1000, seed, `${root}crashes`);
  console.log(JSON.stringify({ target: r.target, seed, runs: r.runs, failures: r.failures.length }));
  for (const f of r.failures) console.error(f.error);
  failed += r.failures.length;
}
process.exit(failed ? 1 : 0);
