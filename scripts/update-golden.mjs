#!/usr/bin/env node
// Rewrites test/golden/* from the current compilers: `npm run golden`, then review `git diff test/golden`.
// The tests only ever compare; this is the one way to change a golden file.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';

const { goldenCases, GOLDEN_DIR } = await import(new URL('../dist/test/golden-cases.js', import.meta.url).href);
let changed = 0;
for (const c of goldenCases()) {
  const text = c.render();
  let old = null;
  try {
    old = readFileSync(c.file, 'utf8');
  } catch {}
  if (old === text) continue;
  writeFileSync(c.file, text);
  changed++;
  console.log(`updated ${relative(GOLDEN_DIR, c.file)}`);
}
console.log(`${changed} golden file(s) changed; review with: git diff test/golden`);
