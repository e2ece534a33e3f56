import type { BenchContext, BenchResult, Scenario } from './result.js';

/**
 * Runs the named scenarios in order and prints each result as one JSON line. A scenario that
 * throws becomes a `tool: 'all'` result with a "failed:" note, so one broken scenario doesn't
 * hide the others' figures, and `failed` tells the caller to exit non-zero.
 */
export async function runScenarios(
  scenarios: Readonly<Record<string, Scenario>>,
  names: readonly string[],
  ctx: BenchContext,
  print: (line: string) => void,
): Promise<{ results: BenchResult[]; failed: boolean }> {
  const results: BenchResult[] = [];
  let failed = false;
  for (const name of names) {
    let batch: BenchResult[];
    try {
      batch = await scenarios[name](ctx);
    } catch (err) {
      failed = true;
      batch = [{ scenario: name, tool: 'all', figures: {}, notes: [`failed: ${(err as Error).message}`] }];
    }
    for (const r of batch) {
      results.push(r);
      print(JSON.stringify(r));
    }
  }
  return { results, failed };
}
