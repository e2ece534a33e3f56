import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createLab } from '../../src/lab/netns.js';
import { connectFrom, startDaemon, startEchoServer, waitForLine } from '../../src/lab/processes.js';
import { e2eSkip, eventually, sleep, tempDir } from './support.js';

/**
 * `TCPFlags = ack` (a real knockd.conf: minecraft-docker.conf knocks with the ACK that ends a
 * handshake on the game's own port). Those packets belong to a connection the kernel already
 * counts as established, so sesame's knock rules must see them ahead of its
 * established-connection shortcut. The same knockd.conf runs under knockd 0.8 and then under
 * sesame, with Debian's knock client, and each door must fire (or not) under both alike.
 */
const CONF = (ran: string) => `[options]
	UseSyslog

[live]
	sequence    = 7000
	seq_timeout = 1
	tcpflags    = ack
	command     = echo live %IP% >> ${ran}

[closed]
	sequence    = 7101,7102
	seq_timeout = 5
	tcpflags    = ack
	command     = echo closed %IP% >> ${ran}
`;

describe('a knockd.conf door with TCPFlags = ack', { skip: e2eSkip({ knock: 'knockd', knockd: 'knockd' }) }, () => {
  test('fires on the handshake ACK to a live port and never on closed ports, under knockd 0.8 and sesame alike', async () => {
    const lab = createLab({ clients: 1, name: 'kdack' });
    const dir = tempDir('sesame-knockd-ack-');
    const ran = join(dir, 'ran');
    const runs = (door: string) =>
      existsSync(ran)
        ? readFileSync(ran, 'utf8')
            .split('\n')
            .filter((l) => l.startsWith(`${door} `)).length
        : 0;
    try {
      const [c] = lab.clients;
      const conf = join(dir, 'knockd.conf');
      writeFileSync(conf, CONF(ran));
      await startEchoServer(lab, lab.server, [7000]);
      const knock = async (ports: string[]) => {
        const r = await lab.run(c, 'knock', [lab.server.v4, ...ports]);
        assert.equal(r.code, 0, r.stderr);
      };

      const knockd = lab.spawn(lab.server, '/usr/sbin/knockd', ['-v', '-i', 'br0', '-c', conf]);
      // -v: knockd prints this once its pcap is open
      await waitForLine(knockd, /^listening on br0/, 10_000);
      knockd.stdout?.resume();
      knockd.stderr?.resume();
      const under = async (tool: string) => {
        await knock(['7101', '7102']);
        await knock(['7000']);
        assert.ok(await eventually(() => runs('live') > 0, 3000), `${tool}: the ACK to the live port is a knock`);
        // a window for a late run to show: the count below must be exactly one
        await sleep(500);
        assert.equal(runs('closed'), 0, `${tool}: SYNs to closed ports carry no ACK: no knock`);
        const live = runs('live');
        rmSync(ran, { force: true });
        return live;
      };
      const byKnockd = await under('knockd');
      knockd.kill('SIGTERM');
      await eventually(() => knockd.exitCode !== null || knockd.signalCode !== null, 3000);

      const daemon = await startDaemon(lab, lab.server, ['--knockd-conf', conf, '--state-dir', dir]);
      try {
        assert.doesNotMatch(daemon.output(), /tcp flags|TCPFlags/i, 'loads without a warning');
        const bySesame = await under('sesame');
        // knockd counts the handshake's ACK and the FIN/ACK alike (each a whole one-port
        // sequence); sesame counts one knock per connection
        assert.ok(byKnockd >= 1, `knockd ran ${byKnockd}`);
        assert.equal(bySesame, 1, 'one run per connection');
        assert.equal(
          (await connectFrom(lab, c, lab.server.v4, 7000, 1000)).result,
          'open',
          'the knock port is watched, not dropped',
        );
      } finally {
        daemon.kill('SIGTERM');
      }
    } finally {
      lab.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
