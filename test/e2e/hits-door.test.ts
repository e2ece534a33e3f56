import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLab, type Host, type Lab } from '../../src/lab/netns.js';
import { connectFrom, startEchoServer } from '../../src/lab/processes.js';
import type { Attempt } from '../../src/lab/syn-schedule.js';
import { startSshd } from '../../src/lab/sshd.js';
import { BACKENDS, loadDaemonless } from './daemonless.js';
import { e2eSkip } from './support.js';

const SCHEDULE_BIN = fileURLToPath(new URL('../../src/lab/syn-schedule.js', import.meta.url));

/** The seed's door: 2 SYNs arm port 22, the third must come 3-5 s after the first. */
const SEED = `doors:
  ssh:
    hits: { port: 22, count: 2, window: [3s, 5s] }
    open: [22]
    for: 30s
`;

async function synsAt(lab: Lab, client: Host, offsetsMs: number[], target = lab.server.v4): Promise<Attempt[]> {
  const r = await lab.run(client, process.execPath, [SCHEDULE_BIN, target, '22', offsetsMs.join(',')], {
    timeoutMs: 20_000,
  });
  return JSON.parse(r.stdout);
}
const results = (xs: Attempt[]) => xs.map((x) => x.result);
/** The seed's right timing: the third SYN 4 s after the first. */
const RIGHT = [0, 1000, 4000];

for (const backend of BACKENDS) {
  describe(
    `hit-count door, seed numbers, loaded with ${backend} and no daemon`,
    { skip: e2eSkip({ nmap: 'nmap', 'iptables-restore': 'iptables' }), concurrency: true },
    () => {
      let lab: Lab;
      before(async () => {
        // clients 6-9: each refusal test's positive control, the right timing from another address
        lab = createLab({ clients: 10, name: `hits-${backend}-` });
        await startEchoServer(lab, lab.server, [22]);
        await loadDaemonless(lab, lab.server, SEED, backend);
      });
      after(() => lab?.destroy());

      test('SYNs at 0, 1 and 4 s: the third is answered, and the address stays open', async () => {
        assert.deepEqual(results(await synsAt(lab, lab.clients[0], RIGHT)), ['timeout', 'timeout', 'open']);
        assert.equal((await connectFrom(lab, lab.clients[0], lab.server.v4, 22)).result, 'open');
      });

      test('the same over IPv6', async () => {
        assert.deepEqual(results(await synsAt(lab, lab.clients[1], RIGHT, lab.server.v6)), [
          'timeout',
          'timeout',
          'open',
        ]);
      });

      test('SYNs at 0, 1 and 2 s (too fast) never get an answer', async () => {
        const [fast, right] = await Promise.all([
          synsAt(lab, lab.clients[2], [0, 1000, 2000]),
          synsAt(lab, lab.clients[6], RIGHT),
        ]);
        assert.deepEqual(results(fast), ['timeout', 'timeout', 'timeout']);
        assert.deepEqual(results(right), ['timeout', 'timeout', 'open'], 'positive control: the right timing');
      });

      test('SYNs at 0, 1 and 6 s (too slow) never get an answer', async () => {
        const [slow, right] = await Promise.all([
          synsAt(lab, lab.clients[3], [0, 1000, 6000]),
          synsAt(lab, lab.clients[7], RIGHT),
        ]);
        assert.deepEqual(results(slow), ['timeout', 'timeout', 'timeout']);
        assert.deepEqual(results(right), ['timeout', 'timeout', 'open'], 'positive control: the right timing');
      });

      test('a burst of 50 SYNs gets no answer', async () => {
        const [attempts, right] = await Promise.all([
          synsAt(lab, lab.clients[4], Array(50).fill(0)),
          synsAt(lab, lab.clients[8], RIGHT),
        ]);
        assert.deepEqual(results(right), ['timeout', 'timeout', 'open'], 'positive control: the right timing');
        const burst = results(attempts);
        assert.equal(burst.length, 50);
        assert.ok(
          burst.every((r) => r === 'timeout'),
          `burst results: ${burst.join(',')}`,
        );
      });

      test('nmap shows port 22 filtered', async () => {
        const nmap = (client: Host) =>
          lab.run(client, 'nmap', ['-n', '-Pn', '-sS', '-p', '22', lab.server.v4], { timeoutMs: 30_000 });
        // the connect right after the scan: 3 s later it would be a correct third SYN
        const scanThenConnect = async (client: Host) => {
          const scan = await nmap(client);
          return { scan, connect: (await connectFrom(lab, client, lab.server.v4, 22, 900)).result };
        };
        const [r, control] = await Promise.all([
          scanThenConnect(lab.clients[5]),
          // positive control: the same scan from an address that knocked right sees 22 open
          synsAt(lab, lab.clients[9], RIGHT).then(() => nmap(lab.clients[9])),
        ]);
        assert.match(r.scan.stdout, /22\/tcp\s+filtered/, r.scan.stdout + r.scan.stderr);
        assert.equal(r.connect, 'timeout');
        assert.match(control.stdout, /22\/tcp\s+open/, control.stdout + control.stderr);
        assert.equal((await connectFrom(lab, lab.clients[9], lab.server.v4, 22, 900)).result, 'open');
      });
    },
  );

  describe(
    `default hit-count door, loaded with ${backend}: a plain ssh gets in on its own SYN retries`,
    { skip: e2eSkip({ sshd: 'openssh-server', 'iptables-restore': 'iptables' }), concurrency: true },
    () => {
      let lab: Lab;
      let sshd: Awaited<ReturnType<typeof startSshd>>;
      before(async () => {
        lab = createLab({ clients: 2, name: `hitssh-${backend}-` });
        sshd = await startSshd(lab, lab.server);
        await loadDaemonless(lab, lab.server, 'doors:\n  ssh:\n    hits: 22\n', backend);
      });
      after(() => {
        sshd?.stop();
        lab?.destroy();
      });

      for (const [i, linear] of [
        [0, 4],
        [1, 0],
      ] as const) {
        const schedule = linear
          ? 'SYN retries 1 s apart (Linux >= 6.6)'
          : 'exponential SYN backoff (older kernels, other systems)';
        test(`${schedule}: ssh logs in within 10 s`, async () => {
          const client = lab.clients[i];
          const set = await lab.run(client, 'sysctl', ['-qw', `net.ipv4.tcp_syn_linear_timeouts=${linear}`]);
          assert.equal(set.code, 0, `sysctl: ${set.stderr}`);
          const r = await sshd.ssh(client);
          process.stdout.write(
            `# ${backend}, tcp_syn_linear_timeouts=${linear}: ssh logged in after ${Math.round(r.ms)} ms\n`,
          );
          assert.ok(r.ok, `ssh failed (${r.code}): ${r.stderr}`);
          assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
          assert.ok(r.ms > 1500, `it got in at once (${r.ms} ms): was port 22 open before the knock?`);
        });
      }
    },
  );
}
