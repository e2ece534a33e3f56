import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createLab } from '../../src/lab/netns.js';
import { sesame, startDaemon } from '../../src/lab/processes.js';
import { e2eSkip, tempDir } from './support.js';

const BAD = `[options]
	logfile = /tmp/x.log

[openHTTP]
	sequence    = 7000,80000,9000
	seq_timout  = 5
	tcpflags    = syn,bogus
	command     = iptables -I INPUT 1 -s %IP% -p tcp --dport 80 -j ACCEPT
`;

describe('a malformed knockd.conf', { skip: e2eSkip() }, () => {
  test('serve --knockd-conf reports every bad line at file:line and loads nothing', async () => {
    const lab = createLab({ name: 'kdbad' });
    const dir = tempDir('sesame-knockd-bad-');
    try {
      const conf = join(dir, 'knockd.conf');
      writeFileSync(conf, BAD);
      const r = await sesame(lab, lab.server, ['serve', '--knockd-conf', conf, '--state-dir', dir], {
        timeoutMs: 10_000,
      });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /nothing was changed/);
      assert.match(r.stderr, new RegExp(`${conf}:5:2 \\[openHTTP\\] sequence: port 80000 out of range`));
      assert.match(r.stderr, new RegExp(`${conf}:6:2 \\[openHTTP\\] seq_timout: unknown directive "seq_timout"`));
      assert.match(r.stderr, new RegExp(`${conf}:7:2 \\[openHTTP\\] tcpflags: unknown tcp flag "bogus"`));
      const table = await lab.run(lab.server, 'nft', ['list', 'table', 'inet', 'sesame']);
      assert.notEqual(table.code, 0, 'no sesame table in the namespace');

      const imported = await sesame(lab, lab.server, ['import', conf]);
      assert.equal(imported.code, 2);
      assert.match(imported.stderr, new RegExp(`${conf}:6:2`));
      assert.equal(imported.stdout, '', 'import prints no half-translated config');

      // positive control: the same check sees a table once the lines are fixed
      writeFileSync(conf, BAD.replace('80000', '8000').replace('seq_timout', 'seq_timeout').replace(',bogus', ''));
      const daemon = await startDaemon(lab, lab.server, ['--knockd-conf', conf, '--state-dir', dir]);
      try {
        const loaded = await lab.run(lab.server, 'nft', ['list', 'table', 'inet', 'sesame']);
        assert.equal(loaded.code, 0, `the fixed knockd.conf loads:\n${loaded.stderr}${daemon.output()}`);
      } finally {
        daemon.kill('SIGTERM');
      }
    } finally {
      lab.destroy();
    }
  });
});
