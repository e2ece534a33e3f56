import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createLab, type Host, type Lab } from '../../src/lab/netns.js';
import { connectFrom, waitForLine } from '../../src/lab/processes.js';
import { type LabSshd, startSshd } from '../../src/lab/sshd.js';
import { BACKENDS, type Backend, loadDaemonless } from './daemonless.js';
import { e2eSkip } from './support.js';

/** The multi-port seed: 1111 then 2222 within 10 s opens 22 and 8080 (rejected otherwise); 3333 closes. */
const SEED = readFileSync(new URL('../../../examples/multi-port.yaml', import.meta.url), 'utf8');
const HTTP_BODY = 'sesame-http-8080';
const TOOLS = {
  sshd: 'openssh-server',
  nc: 'netcat-openbsd',
  nmap: 'nmap',
  curl: 'curl',
  'iptables-restore': 'iptables',
  ping: 'iputils-ping',
};

interface SeedLab {
  readonly lab: Lab;
  readonly sshd: LabSshd;
  destroy(): void;
}

/** A lab with sshd on 22 and an HTTP server on 8080 in the server, and `yaml` loaded daemonless. */
async function seedLab(yaml: string, backend: Backend, clients: number): Promise<SeedLab> {
  const lab = createLab({ clients, name: `seed-${backend}-` });
  try {
    const sshd = await startSshd(lab, lab.server);
    const http = lab.spawn(lab.server, process.execPath, [
      '-e',
      `require('http').createServer((q, s) => s.end('${HTTP_BODY}')).listen(8080, '::', () => console.log('ready'))`,
    ]);
    await waitForLine(http, /^ready$/);
    await loadDaemonless(lab, lab.server, yaml, backend);
    return { lab, sshd, destroy: () => (sshd.stop(), lab.destroy()) };
  } catch (err) {
    lab.destroy();
    throw err;
  }
}

/** A knock the way a knockd-less seed does it: `nc -z` (one connect, refused or timed out). */
const nc = (lab: Lab, client: Host, port: number) =>
  lab.run(client, 'nc', ['-z', '-w', '1', lab.server.v4, String(port)]);
const curl = (lab: Lab, client: Host) => lab.run(client, 'curl', ['-s', '-m', '3', `http://${lab.server.v4}:8080/`]);

for (const backend of BACKENDS) {
  describe(`multi-port seed loaded with ${backend} and no daemon`, { skip: e2eSkip(TOOLS), concurrency: true }, () => {
    let s: SeedLab;
    before(async () => {
      s = await seedLab(SEED, backend, 4);
    });
    after(() => s?.destroy());

    test('before knocking, ssh and 8080 are refused at once (reply: reject)', async () => {
      const c = s.lab.clients[0];
      for (const port of [22, 8080, 1111]) {
        const r = await connectFrom(s.lab, c, s.lab.server.v4, port);
        assert.equal(r.result, 'refused', `port ${port}`);
        assert.ok(r.ms < 500, `port ${port} refused after ${r.ms} ms`);
      }
      // positive control: after the knock the same probe gets through to both services
      for (const port of [1111, 2222]) await nc(s.lab, c, port);
      for (const port of [22, 8080])
        assert.equal(
          (await connectFrom(s.lab, c, s.lab.server.v4, port)).result,
          'open',
          `port ${port} after the knock`,
        );
    });

    test('nc -z 1111 twice, 2222 twice: ssh and http open; nc -z 3333 closes both', async () => {
      const { lab, sshd } = s;
      const c = lab.clients[1];
      for (const port of [1111, 1111, 2222, 2222]) await nc(lab, c, port);
      const ssh = await sshd.ssh(c);
      assert.ok(ssh.ok, `ssh: ${ssh.stderr}`);
      assert.equal((await curl(lab, c)).stdout, HTTP_BODY);
      assert.equal((await connectFrom(lab, c, lab.server.v4, 22)).result, 'open', 'the probe below sees 22 open first');
      await nc(lab, c, 3333);
      assert.equal((await connectFrom(lab, c, lab.server.v4, 22)).result, 'refused');
      assert.equal((await connectFrom(lab, c, lab.server.v4, 8080)).result, 'refused');
    });

    test('unrelated traffic between the knocks does not reset the sequence', async () => {
      const { lab, sshd } = s;
      const c = lab.clients[2];
      await nc(lab, c, 1111);
      await connectFrom(lab, c, lab.server.v4, 80);
      await lab.run(c, 'ping', ['-c', '1', '-W', '1', lab.server.v4]);
      await nc(lab, c, 2222);
      const ssh = await sshd.ssh(c);
      assert.ok(ssh.ok, `ssh: ${ssh.stderr}`);
    });

    test('the knocks in the wrong order open nothing', async () => {
      const { lab } = s;
      const c = lab.clients[3];
      await nc(lab, c, 2222);
      await nc(lab, c, 1111);
      assert.equal((await connectFrom(lab, c, lab.server.v4, 22)).result, 'refused');
      // positive control: the right order from the same client opens
      await nc(lab, c, 1111);
      await nc(lab, c, 2222);
      assert.equal((await connectFrom(lab, c, lab.server.v4, 22)).result, 'open', 'the right order opens');
    });
  });

  describe(`multi-port seed with reply: drop, loaded with ${backend}`, { skip: e2eSkip(TOOLS) }, () => {
    test('knocking with nmap opens ssh; the knock ports answer closed, like any closed port', async () => {
      const s = await seedLab(SEED.replace('reply: reject', 'reply: drop'), backend, 1);
      try {
        const { lab, sshd } = s;
        const c = lab.clients[0];
        for (const port of ['1111', '2222']) {
          const r = await lab.run(c, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '3', '-p', port, lab.server.v4], {
            timeoutMs: 30_000,
          });
          assert.match(r.stdout, new RegExp(`${port}/tcp\\s+closed`), r.stdout);
        }
        const ssh = await sshd.ssh(c);
        assert.ok(ssh.ok, `ssh: ${ssh.stderr}`);
      } finally {
        s.destroy();
      }
    });
  });
}
