import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { doorLab } from './door-lab.js';
import { e2eSkip, eventually } from './support.js';

describe('a one-time swap replaces only the used door (issue 15 item 5)', { skip: e2eSkip() }, () => {
  test("regression: a one-time door used while another door's knock is half-way: that knock still completes, and grants made before the swap stay", async () => {
    const l = await doorLab('doors: {}\n', { clients: 4, daemon: false, services: [80, 81, 8022] });
    try {
      const seq = join(l.dir, 'sequences');
      writeFileSync(seq, ' 7001,7002,7003\n 7101,7102,7103\n');
      writeFileSync(
        l.config,
        `doors:
  ot:
    knock: { one_time: ${JSON.stringify(seq)} }
    within: 30s
    open: [80]
    for: 60s
  web:
    knock: [6001, 6002, 6003]
    within: 30s
    open: [8022]
    for: 60s
  db:
    knock: [5001, 5002]
    within: 30s
    open: [81]
    for: 120s
`,
      );
      const daemon = await l.startDaemon();
      const [a, b, c, d] = l.clients;
      assert.equal(await l.connect(b, 8022), 'timeout', 'web is closed before any knock');
      assert.equal(await l.connect(c, 81), 'timeout', 'db is closed before any knock');

      await l.knock(c, ['5001', '5002']);
      assert.equal(await l.connect(c, 81), 'open', 'db granted to c before the swap');
      await l.knock(b, ['6001', '6002']); // half-way through web's sequence
      await l.knock(d, ['7001']); // half-way through ot's line that is about to be used

      await l.knock(a, ['7001', '7002', '7003']);
      assert.equal(await l.connect(a, 80), 'open', 'the one-time sequence opens');
      assert.ok(
        await eventually(() => daemon.output().includes('"event":"one-time-next"'), 10_000),
        `the daemon swapped in the next line:\n${daemon.output()}`,
      );
      assert.doesNotMatch(daemon.output(), /one-time-swap-whole-table|one-time-swap-failed/);

      await l.knock(b, ['6003']);
      assert.equal(await l.connect(b, 8022), 'open', "web's knock begun before the swap completes after it");
      assert.equal(await l.connect(c, 81), 'open', "db's grant made before the swap is still there");
      assert.equal(await l.connect(a, 80), 'open', "ot's own grant made by the used line is still there");

      await l.knock(d, ['7102', '7103']);
      assert.equal(await l.connect(d, 80), 'timeout', "progress on the used line doesn't count toward the next");
      await l.knock(d, ['7101', '7102', '7103']);
      assert.equal(await l.connect(d, 80), 'open', 'the next line opens (positive control)');
    } finally {
      l.destroy();
    }
  });
});
