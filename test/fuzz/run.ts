import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mutate, rng } from './mutate.js';
import { readCorpus, type Target } from './spa-targets.js';

export interface FuzzResult {
  readonly target: string;
  readonly runs: number;
  readonly failures: { readonly input: Buffer; readonly error: string }[];
}

/** Runs one target for `ms` from its committed corpus; failing inputs are saved under `crashDir`. */
export async function fuzz(
  target: Target,
  corpusRoot: string,
  ms: number,
  seed: number,
  crashDir?: string,
): Promise<FuzzResult> {
  const pool = readCorpus(join(corpusRoot, target.corpus));
  const rand = rng(seed);
  const failures: FuzzResult['failures'] = [];
  const end = Date.now() + ms;
  let runs = 0;
  const attempt = async (input: Buffer) => {
    runs++;
    try {
      await target.run(input);
    } catch (err) {
      failures.push({ input, error: (err as Error).stack ?? String(err) });
      if (crashDir) {
        mkdirSync(crashDir, { recursive: true });
        writeFileSync(join(crashDir, `${target.name}-${seed}-${runs}.bin`), input);
      }
    }
  };
  for (const seedInput of pool) await attempt(seedInput);
  while (Date.now() < end && failures.length < 10) {
    for (let i = 0; i < 200; i++) await attempt(mutate(pool[Math.floor(rand() * pool.length)], pool, rand));
  }
  return { target: target.name, runs, failures };
}
