import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createLab } from '../../src/lab/netns.js';
import { startDaemon } from '../../src/lab/processes.js';
import { startNginx } from './web-lab.js';
import { e2eSkip, eventually, sleep, tempDir } from './support.js';

/**
 * Real knockd.conf files knock on a service's own port (a game server started on the first
 * connection: sequence = 25565). knockd only watches packets, so the service keeps answering;
 * sesame must do the same under --knockd-conf, and run the door's command once per knock.
 * (Once the server answered a SYN, conntrack ties its retransmits to the connection; the
 * kernel's seen set covers retransmits of unanswered SYNs: see knockd-parity.test.ts.)
 */
describe(
  'a knockd.conf that knocks on a live HTTP server port',
  { skip: e2eSkip({ nginx: 'nginx', curl: 'curl' }) },
  () => {
    test('nginx answers before, during and after sesame; the command runs once per connection, not per SYN retransmit', async () => {
      const lab = createLab({ clients: 1, name: 'kdlive' });
      const dir = tempDir('sesame-knockd-live-');
      const ran = join(dir, 'ran');
      const runs = () => (existsSync(ran) ? readFileSync(ran, 'utf8').split('\n').filter(Boolean).length : 0);
      try {
        const [c] = lab.clients;
        await startNginx(lab, lab.server, dir);
        const conf = join(dir, 'knockd.conf');
        writeFileSync(
          conf,
          `[options]\n\tUseSyslog\n\n[wakeWeb]\n\tsequence    = 80\n\tseq_timeout = 1\n\ttcpflags    = syn\n\tcommand     = echo %IP% >> ${ran}\n`,
        );
        const curl = async (extra: string[] = []) =>
          (
            await lab.run(c, 'curl', [
              '-s',
              '-o',
              '/dev/null',
              '-w',
              '%{http_code}',
              '--max-time',
              '10',
              ...extra,
              `http://${lab.server.v4}/`,
            ])
          ).stdout;

        assert.equal(await curl(), '200', 'nginx answers before sesame starts');
        const daemon = await startDaemon(lab, lab.server, ['--knockd-conf', conf, '--state-dir', dir]);

        assert.equal(await curl(), '200', 'the knock port is observed, not dropped: nginx answers');
        assert.ok(await eventually(() => runs() === 1, 3000), 'the connection was a knock: the command ran');

        // one connection whose SYN is sent several times: the client drops the answers for
        // 1.5 s, so its kernel retransmits the SYN (same source port) before it gets through
        const lose = 'table inet lose { chain lost { type filter hook input priority 0; tcp sport 80 drop; }; }';
        const add = await lab.run(c, 'sh', ['-c', `echo '${lose}' | nft -f -`]);
        assert.equal(add.code, 0, add.stderr);
        const slow = curl();
        // the behaviour under test: the answers are lost long enough for SYN retransmits
        await sleep(1500);
        await lab.run(c, 'nft', ['delete', 'table', 'inet', 'lose']);
        assert.equal(await slow, '200', 'the retransmitted SYN got through to nginx');
        assert.ok(await eventually(() => runs() >= 2, 3000), 'that connection was a knock');

        assert.equal(await curl(), '200');
        assert.ok(await eventually(() => runs() >= 3, 3000), 'a new connection is a new knock');

        daemon.kill('SIGTERM');
        await eventually(() => daemon.exitCode !== null || daemon.signalCode !== null, 5000);
        assert.equal(await curl(), '200', 'after sesame stops, nginx still answers');
        // counted once sesame has stopped, so a run for a retransmit had every chance to show
        assert.equal(runs(), 3, 'one run per connection, not one per SYN');
      } finally {
        lab.destroy();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
