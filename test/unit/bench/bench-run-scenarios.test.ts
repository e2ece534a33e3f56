import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runScenarios } from '../../../bench/run-scenarios.js';
import type { BenchContext, BenchResult } from '../../../bench/result.js';

const ctx: BenchContext = { quick: true, tools: ['sesame'], log: () => {} };
const ok = async (): Promise<BenchResult[]> => [{ scenario: 'ok', tool: 'sesame', figures: { p50: 1 } }];

describe('bench scenarios (regression: a failing web-knock import was reported as "skipped", exit 0)', () => {
  test('a scenario that throws (e.g. its module fails to load) marks the run failed, the others still report', async () => {
    const lines: string[] = [];
    const broken = async (): Promise<BenchResult[]> => {
      throw new Error('Cannot find module ./web-knock.js');
    };
    const { results, failed } = await runScenarios({ broken, ok }, ['broken', 'ok'], ctx, (l) => lines.push(l));
    assert.equal(failed, true);
    assert.deepEqual(results[0], {
      scenario: 'broken',
      tool: 'all',
      figures: {},
      notes: ['failed: Cannot find module ./web-knock.js'],
    });
    assert.equal(results[1].scenario, 'ok');
    assert.equal(lines.length, 2);
  });

  test('scenarios that all return figures leave the run passing', async () => {
    const { failed } = await runScenarios({ ok }, ['ok'], ctx, () => {});
    assert.equal(failed, false);
  });

  test('the web-knock scenario is wired in statically, not behind an optional import', async () => {
    const { webKnock } = await import('../../../bench/scenarios/web-knock.js');
    assert.equal(typeof webKnock, 'function');
  });
});
