import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sesame } from '../../src/lab/processes.js';
import { doorLab } from './door-lab.js';
import { e2eSkip, eventually } from './support.js';

const DOOR = `doors:
  web:
    knock: [6000, 7000, 8000]
    within: 5s
    open: [80]
    for: 5s
`;

describe('the audit log', { skip: e2eSkip() }, () => {
  test('a real daemon writes open and close; audit verify passes, then names a changed line, a deleted line and a cut tail', async () => {
    const l = await doorLab(DOOR, { services: [80] });
    try {
      const [alice, bob] = l.clients;
      const log = join(l.dir, 'audit.jsonl');
      const events = () =>
        readFileSync(log, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((t) => JSON.parse(t));
      await l.knock(alice, ['6000', '7000', '8000']);
      assert.equal(await l.connect(alice, 80), 'open');
      await l.knock(bob, ['6000', '7000', '8000']);
      // both grants run out (`for: 5s`): a close line each
      assert.ok(
        await eventually(() => events().filter((e) => e.event === 'close').length === 2, 20_000),
        'both closed',
      );
      const recs = events();
      assert.deepEqual(
        recs.map((e) => [e.event, e.door, e.address, e.via]).sort(),
        [
          ['close', 'web', alice.v4, undefined],
          ['close', 'web', bob.v4, undefined],
          ['open', 'web', alice.v4, 'knock'],
          ['open', 'web', bob.v4, 'knock'],
        ].sort(),
      );
      assert.ok(
        recs.every((e) => e.node),
        'every line names the node',
      );

      const shown = await sesame(l.lab, l.server, ['audit', '--state-dir', l.dir, '--since', '1h']);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(
        shown.stdout,
        new RegExp(`open door=web address=${alice.v4.replaceAll('.', '\\.')} ports=80/tcp via=knock`),
      );

      l.daemon!.kill('SIGTERM'); // writes the anchor
      await eventually(() => l.daemon!.exitCode !== null || l.daemon!.signalCode !== null, 5000);
      const verify = () => sesame(l.lab, l.server, ['audit', 'verify', '--state-dir', l.dir]);
      const ok = await verify();
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /audit log intact: 4 line\(s\), last seq 4/);

      const original = readFileSync(log, 'utf8');
      const lines = original.split('\n').filter(Boolean);
      const tampered = async (text: string, problem: RegExp) => {
        writeFileSync(log, text);
        const r = await verify();
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stderr, problem);
      };
      await tampered(
        [lines[0].replace(alice.v4, '198.18.0.99').replace(bob.v4, '198.18.0.99'), ...lines.slice(1), ''].join('\n'),
        /line 1 was changed/,
      );
      await tampered([lines[0], ...lines.slice(2), ''].join('\n'), /line\(s\) removed before line 2/);
      await tampered(
        [...lines.slice(0, 3), ''].join('\n'),
        /the log was cut: it ends at seq 3, the anchor recorded seq 4/,
      );
      writeFileSync(log, original);
      assert.equal((await verify()).code, 0, 'the original verifies again');
    } finally {
      l.destroy();
    }
  });
});
