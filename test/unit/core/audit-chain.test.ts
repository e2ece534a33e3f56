import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AuditAnchor, GENESIS, lineHash, nextLine, verifyChain } from '../../../src/core/audit-chain.js';

/** A log of `n` opens and its anchor, as the daemon writes them. */
function log(n: number): { lines: string[]; anchor: AuditAnchor } {
  const lines: string[] = [];
  let last: AuditAnchor | null = null;
  for (let i = 0; i < n; i++) {
    const text = nextLine(
      { event: 'open', door: 'ssh', address: `198.18.0.${10 + i}`, via: 'knock' },
      last,
      new Date(i * 1000),
    );
    lines.push(text);
    last = { seq: i + 1, hash: lineHash(text) };
  }
  return { lines, anchor: last! };
}

describe('audit hash chain', () => {
  test('a log as written verifies; each line names the hash of the one before', () => {
    const { lines, anchor } = log(5);
    assert.deepEqual(verifyChain([...lines, ''], anchor), { ok: true, lines: 5, last: anchor, unanchored: 0 });
    assert.equal(JSON.parse(lines[0]).prev, GENESIS);
    assert.equal(JSON.parse(lines[3]).prev, lineHash(lines[2]));
  });

  test('a changed line is named', () => {
    const { lines, anchor } = log(5);
    lines[1] = lines[1].replace('198.18.0.11', '198.18.0.99');
    const r = verifyChain(lines, anchor);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.line, 2);
    assert.match(!r.ok ? r.problem : '', /line 2 was changed/);
  });

  test('a removed line is named by where the seq jumps', () => {
    const { lines, anchor } = log(5);
    lines.splice(2, 1);
    const r = verifyChain(lines, anchor);
    assert.equal(!r.ok && r.line, 3);
    assert.match(!r.ok ? r.problem : '', /1 line\(s\) removed before line 3 \(seq 2 is followed by 4\)/);
  });

  test('a cut tail is seen against the anchor; a changed last line too', () => {
    const { lines, anchor } = log(5);
    const cut = verifyChain(lines.slice(0, 3), anchor);
    assert.equal(!cut.ok && cut.line, 4);
    assert.match(!cut.ok ? cut.problem : '', /the log was cut: it ends at seq 3, the anchor recorded seq 5/);
    const last = [...lines];
    last[4] = last[4].replace('knock', 'grant');
    const changed = verifyChain(last, anchor);
    assert.equal(!changed.ok && changed.line, 5);
  });

  test('lines written after the anchor (a crash within its second) verify and are counted', () => {
    const { lines } = log(5);
    const early = { seq: 3, hash: lineHash(lines[2]) };
    assert.deepEqual(verifyChain(lines, early), {
      ok: true,
      lines: 5,
      last: { seq: 5, hash: lineHash(lines[4]) },
      unanchored: 2,
    });
  });

  test('a line that is not an audit line is named; a first line that names a predecessor too', () => {
    const { lines, anchor } = log(3);
    assert.match(
      (verifyChain(['{oops', ...lines.slice(1)], anchor) as { problem: string }).problem,
      /line 1 is not an audit line/,
    );
    const forged = JSON.stringify({ ...JSON.parse(lines[0]), prev: 'a'.repeat(64) });
    assert.equal((verifyChain([forged, ...lines.slice(1)], anchor) as { line: number }).line, 1);
  });
});
