import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SERVER_V4 } from '../../src/lab/netns.js';
import { doorLab } from './door-lab.js';
import { knockdLab } from './knockd-lab.js';
import { e2eSkip, eventually, tempDir } from './support.js';

const SEQUENCES = `# one-time sequences for door "ot"; a leading blank keeps the ports readable once used
 7001,7002,7003

 7101,7102:udp,7103
 7201,7202,7203
`;

const count = (text: string, event: string) => text.split('\n').filter((l) => l.includes(`"event":"${event}"`)).length;

describe('one-time sequences: each sequence opens once', { skip: e2eSkip() }, () => {
  test('three sequences open once each, a reused one fails, used lines are commented out, then the door is disabled', async () => {
    const dir = tempDir('sesame-onetime-');
    const file = join(dir, 'sequences');
    writeFileSync(file, SEQUENCES);
    const l = await doorLab(
      `doors:\n  ot:\n    knock: { one_time: ${JSON.stringify(file)} }\n    within: 3s\n    open: [80]\n    for: 60s\n`,
      {
        clients: 4,
        services: [80],
      },
    );
    try {
      const [a, b, c, d] = l.clients;
      const out = () => l.daemon!.output();
      const used = async (n: number, event = 'one-time-next') =>
        assert.ok(await eventually(() => count(out(), event) >= n, 3000), `${event} #${n}`);

      assert.equal(await l.connect(a, 80), 'timeout');
      await l.knock(a, ['7001', '7002', '7003']);
      assert.equal(await l.connect(a, 80), 'open', 'first sequence opens');
      await used(1);

      await l.knock(b, ['7001', '7002', '7003']);
      assert.equal(await l.connect(b, 80), 'timeout', 'the first sequence, used once, no longer opens');
      await l.knock(b, ['7101', '7102/udp', '7103']);
      assert.equal(await l.connect(b, 80), 'open', 'second sequence opens');
      await used(2);

      await l.knock(c, ['7201', '7202', '7203']);
      assert.equal(await l.connect(c, 80), 'open', 'third sequence opens');
      await used(1, 'door-disabled');
      assert.equal(
        readFileSync(file, 'utf8'),
        SEQUENCES.replace(' 7001', '#7001').replace(' 7101', '#7101').replace(' 7201', '#7201'),
        'used lines are marked with # in place, as knockd does',
      );

      await l.knock(d, ['7201', '7202', '7203']);
      assert.equal(await l.connect(d, 80), 'timeout', 'the door is disabled: no sequence opens');
      assert.doesNotMatch(await l.nft(['list', 'table', 'inet', 'sesame']), /chain ot_knock/);
      assert.equal(await l.connect(a, 80), 'open', 'grants given before keep running across the swaps');
    } finally {
      l.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('knockd.conf One_Time_Sequences: the used sequence is spent, and a restart keeps it spent', async () => {
    const l = await knockdLab(
      (dir) => `[otHTTP]
	one_time_sequences = ${join(dir, 'seqs')}
	seq_timeout   = 5
	tcpflags      = syn
	start_command = iptables -I INPUT 1 -s %IP% -p tcp --dport 80 -j ACCEPT
	cmd_timeout   = 30
	stop_command  = iptables -D INPUT -s %IP% -p tcp --dport 80 -j ACCEPT
`,
      { clients: 2 },
    );
    try {
      writeFileSync(join(l.dir, 'seqs'), ' 7001,7002,7003\n 7101,7102,7103\n');
      const daemon = await l.startDaemon();
      const [a, b] = l.clients;
      await l.knock(a, [SERVER_V4, '7001', '7002', '7003']);
      assert.equal(
        await eventually(async () => (await l.connect(a)) === 'open', 3000),
        true,
        'the active sequence opens',
      );
      assert.ok(await eventually(() => daemon.output().includes('"event":"one-time-next"'), 3000));
      daemon.kill('SIGKILL');
      await l.startDaemon();
      await l.knock(b, [SERVER_V4, '7001', '7002', '7003']);
      assert.equal(await l.connect(b), 'timeout', 'after a restart the spent sequence still fails');
      await l.knock(b, [SERVER_V4, '7101', '7102', '7103']);
      assert.equal(await eventually(async () => (await l.connect(b)) === 'open', 3000), true, 'the next line opens');
      assert.equal(readFileSync(join(l.dir, 'seqs'), 'utf8'), '#7001,7002,7003\n#7101,7102,7103\n');
    } finally {
      l.destroy();
    }
  });
});
