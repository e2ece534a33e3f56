import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createLab, SERVER_V4 } from '../../src/lab/netns.js';
import { connectFrom, sesame, startDaemon, startEchoServer } from '../../src/lab/processes.js';
import { e2eSkip, eventually, tempDir } from './support.js';

const CONF = `[openHTTP]
	sequence      = 7000,8000,9000
	seq_timeout   = 5
	tcpflags      = syn
	start_command = iptables -I INPUT 1 -s %IP% -p tcp --dport 80 -j ACCEPT
	cmd_timeout   = 3
	stop_command  = iptables -D INPUT -s %IP% -p tcp --dport 80 -j ACCEPT
`;

describe('sesame import knockd.conf', { skip: e2eSkip({ knock: 'knockd' }) }, () => {
  test('the imported sesame.yaml opens the same port kernel-native, for cmd_timeout, with no iptables rule', async () => {
    const lab = createLab({ name: 'kdimp' });
    const dir = tempDir('sesame-knockd-import-');
    try {
      const conf = join(dir, 'knockd.conf');
      writeFileSync(conf, CONF);
      const imported = await sesame(lab, lab.server, ['import', conf]);
      assert.equal(imported.code, 0, imported.stderr);
      assert.match(imported.stdout, /open: \[80\]\n\s+for: 3s/);
      const yaml = join(dir, 'sesame.yaml');
      writeFileSync(yaml, imported.stdout);

      // no base firewall this time: sesame's table is what keeps port 80 closed
      await startEchoServer(lab, lab.server, [80]);
      await startDaemon(lab, lab.server, ['-c', yaml, '--state-dir', dir]);
      const [client] = lab.clients;
      const connect = async () => (await connectFrom(lab, client, SERVER_V4, 80, 1000)).result;
      assert.equal(await connect(), 'timeout');
      const k = await lab.run(client, 'knock', [SERVER_V4, '7000', '8000', '9000']);
      assert.equal(k.code, 0, k.stderr);
      assert.equal(
        await connect(),
        'open',
        'open at once: the grant is made in the same kernel pass as the last knock',
      );
      assert.equal(
        await eventually(async () => (await connect()) === 'timeout', 6000, 250),
        true,
        'closed again after for: 3s',
      );
      const rules = await lab.run(lab.server, 'iptables', ['-S', 'INPUT']);
      assert.doesNotMatch(rules.stdout, /-j ACCEPT/, 'no command ran');
    } finally {
      lab.destroy();
    }
  });
});
