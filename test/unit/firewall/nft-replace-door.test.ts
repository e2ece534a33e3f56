import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseConfig } from '../../../src/config/load-config.js';
import { useOneTimeSequence } from '../../../src/config/one-time-file.js';
import type { OneTimeDoor, Plan } from '../../../src/core/door.js';
import { DoorSwapError, replaceDoor } from '../../../src/firewall/nft/replace-door.js';

const dir = mkdtempSync(join(tmpdir(), 'sesame-replace-door-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A plan with one-time door `ot` reading `lines`, and sequence door `web` (`webWithin`). */
function planWith(lines: string, webWithin = '10s'): Plan {
  const file = join(dir, `seq-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, lines);
  return parseConfig(
    `doors:\n  ot:\n    knock: { one_time: ${JSON.stringify(file)} }\n    open: [80]\n` +
      `  web:\n    knock: [6000, 7000, 8000]\n    within: ${webWithin}\n    open: [22]\n`,
  );
}

/** The plan after `ot`'s active line was used (the daemon's one-time swap). */
function used(plan: Plan): Plan {
  const ot = plan.doors.find((d) => d.name === 'ot') as OneTimeDoor;
  const next = useOneTimeSequence(ot).door;
  return { ...plan, doors: plan.doors.map((d) => (d.name === 'ot' ? next : d)) };
}

const lines = (script: string, re: RegExp) =>
  script
    .split('\n')
    .map((l) => re.exec(l)?.[1])
    .filter((x): x is string => x !== undefined);
const flushed = (s: string) => lines(s, /^flush chain inet sesame (\S+)$/);
const deletedChains = (s: string) => lines(s, /^delete chain inet sesame (\S+)$/);
const deletedSets = (s: string) => lines(s, /^delete set inet sesame (\S+)$/);
const declaredSets = (s: string) => lines(s, /^\tset (\S+) \{/);
const declaredChains = (s: string) => lines(s, /^\tchain (\S+) \{/);

describe("one-time swap: only the used door's part of the table is replaced", () => {
  test("the swap keeps every grant set and the other door's knock sets; it never replaces the table", () => {
    const before = planWith(' 7001,7002,7003\n 7101,7102:udp\n');
    const script = replaceDoor(before, used(before), 'ot');
    assert.doesNotMatch(script, /delete table|flush table|flush set/);
    for (const names of [deletedSets(script), declaredSets(script), deletedChains(script)])
      for (const n of names) assert.match(n, /^ot_k/, `${n} is not ot's knock state`);
    assert.deepEqual(flushed(script).sort(), ['knocks', 'ot_knock', 'sweep_reset_4', 'sweep_reset_6']);
    assert.deepEqual(declaredChains(script).sort(), ['knocks', 'ot_knock', 'sweep_reset_4', 'sweep_reset_6']);
    assert.doesNotMatch(script, /^\s*(set|chain) web_/m, "web's sets and chain are not declared again");
    assert.match(script, /tcp dport \{ 6000, 7000, 8000 \} jump web_knock/, "web's dispatch is put back");
    assert.match(script, /tcp dport 7101 jump ot_knock\n\t\tudp dport 7102 jump ot_knock/, 'the new line dispatches');
    assert.doesNotMatch(script, /700[123]/, 'nothing of the used line is left');
    assert.match(script, /prefix "sesame open ot #2"/, 'the new line names its line');
  });

  test("regression: progress on the used sequence doesn't carry into the next (its stage sets are re-created)", () => {
    // both lines have a stage 1: keeping ot_k1_4 would let someone half-way through the used
    // line skip the first port of the next one
    const before = planWith(' 7001,7002,7003\n 7101,7102,7103\n');
    const script = replaceDoor(before, used(before), 'ot');
    const stateSets = ['ot_k1_4', 'ot_k1_6', 'ot_k2_4', 'ot_k2_6', 'ot_kq_4', 'ot_kq_6'];
    stateSets.push('ot_kqstart_4', 'ot_kqstart_6', 'ot_kstart_4', 'ot_kstart_6'); // with the flood lane
    assert.deepEqual(deletedSets(script).sort(), stateSets);
    assert.deepEqual(declaredSets(script).sort(), stateSets);
    assert.ok(
      script.indexOf('flush chain inet sesame ot_knock') < script.indexOf('delete set inet sesame ot_k1_4'),
      'the rules naming a set go before the set',
    );
  });

  test('regression: a chain naming a re-created set is refilled even when its text is the same (EBUSY otherwise)', () => {
    // both lines have three knocks, so the sweep resets read the same before and after; the
    // kernel still refuses to delete ot_k1_4 while a sweep reset rule names it
    const before = planWith(' 7001,7002,7003\n 7101,7102,7103\n');
    const script = replaceDoor(before, used(before), 'ot');
    assert.deepEqual(flushed(script).sort(), ['knocks', 'ot_knock', 'sweep_reset_4', 'sweep_reset_6']);
    assert.deepEqual(declaredChains(script).sort(), ['knocks', 'ot_knock', 'sweep_reset_4', 'sweep_reset_6']);
    assert.match(script, /chain sweep_reset_4 \{\n\t\tdelete @ot_k1_4 .*delete @web_k1_4/);
  });

  test("the last line used: the door's chain and knock sets go; its grant set and protection stay", () => {
    const before = planWith('#7001,7002\n 7101,7102\n');
    const script = replaceDoor(before, used(before), 'ot');
    assert.deepEqual(deletedChains(script), ['ot_knock']);
    assert.deepEqual(declaredSets(script), []);
    assert.doesNotMatch(script, /ot_open|chain input/);
    assert.doesNotMatch(script, /jump ot_knock/);
  });

  test('a swap from a one-knock line to a longer one adds the scan guard it now needs (with no other door)', () => {
    const file = join(dir, 'single');
    writeFileSync(file, ' 7001\n 7101,7102\n');
    const before = parseConfig(`doors:\n  ot:\n    knock: { one_time: ${JSON.stringify(file)} }\n    open: [80]\n`);
    const script = replaceDoor(before, used(before), 'ot');
    assert.deepEqual(
      declaredSets(script).filter((s) => !s.startsWith('ot_')),
      ['sweep_4', 'sweep_6'],
    );
    assert.deepEqual(deletedSets(script).sort(), ['ot_kseen_4', 'ot_kseen_6']);
    assert.ok(declaredChains(script).includes('sweep_reset_4'));
  });

  test('plans that differ in another set are refused (E_SWAP): its elements would be lost', () => {
    const before = planWith(' 7001,7002\n 7101,7102\n');
    const other = { ...used(before), doors: planWith(' 7101,7102\n', '20s').doors };
    assert.throws(
      () => replaceDoor(before, other, 'ot'),
      (err: unknown) => err instanceof DoorSwapError && err.code === 'E_SWAP' && /set web_/.test(err.message),
    );
  });
});
