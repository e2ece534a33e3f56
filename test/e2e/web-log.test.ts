import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { e2eSkip, eventually, sleep } from './support.js';
import { startNginx, type WebLab, webLab } from './web-lab.js';

const SITE = 'http://198.18.0.1';

describe(
  'web knock: an nginx access log opens ssh (fail2ban-style)',
  { skip: e2eSkip({ nginx: 'nginx', curl: 'curl', sshd: 'openssh-server' }) },
  () => {
    let w: WebLab;
    let nginx: { accessLog: string; conf: string };

    before(async () => {
      w = await webLab(
        (dir) => `
doors:
  ssh:
    log:
      file: ${join(dir, 'nginx', 'access.log')}
      match: '^<HOST> -.*"GET /ssh'
    open: [22]
    for: 4s
`,
        {
          clients: 3,
          ready: /log-watch/,
          before: async (lab, dir) => {
            nginx = await startNginx(lab, lab.server, dir);
            // lines already in the log must never open anything when the daemon starts
            await lab.run(lab.clients[2], 'curl', ['-s', '-o', '/dev/null', `${SITE}/ssh`]);
          },
        },
      );
    });
    after(() => w?.destroy());

    const get = (client: number, path: string) => w.curl(w.lab.clients[client], [`${SITE}${path}`]);
    const openFor = (client: number) =>
      eventually(async () => (await w.connect(w.lab.clients[client], 22, 700)) === 'open', 5000);

    test('old lines are not replayed at start, and another path opens nothing', async () => {
      assert.equal(await w.connect(w.lab.clients[2], 22), 'timeout', 'a /ssh line written before the daemon started');
      assert.equal((await get(0, '/index.html')).status, 200);
      await sleep(1000);
      assert.equal(await w.connect(w.lab.clients[0], 22), 'timeout');
    });

    test('curl /ssh (a 404) opens tcp/22 for that client only, for the door time; ssh works', async () => {
      const [c0, c1] = w.lab.clients;
      const r = await get(0, '/ssh');
      assert.equal(r.status, 404, 'nginx answers 404; the log line is the knock');
      assert.ok(await openFor(0), 'open after the request');
      const login = await w.sshd.ssh(c0, { connectTimeoutS: 5 });
      assert.ok(login.ok, `ssh login: ${login.stderr}`);
      assert.equal(await w.connect(c1, 22), 'timeout', 'another client stays out');
      await sleep(4500);
      assert.equal(await w.connect(c0, 22), 'timeout', 'closed after `for`');
    });

    test('after logrotate (rename + nginx -s reopen) the next request still opens', async () => {
      renameSync(nginx.accessLog, `${nginx.accessLog}.1`);
      const reopen = await w.lab.run(w.lab.server, 'nginx', [
        '-c',
        nginx.conf,
        '-p',
        join(w.dir, 'nginx'),
        '-s',
        'reopen',
      ]);
      assert.equal(reopen.code, 0, reopen.stderr);
      assert.ok(
        await eventually(async () => (await w.lab.run(w.lab.server, 'test', ['-e', nginx.accessLog])).code === 0, 5000),
        'nginx created a new log',
      );
      assert.equal(await w.connect(w.lab.clients[1], 22), 'timeout');
      await get(1, '/ssh');
      assert.ok(await openFor(1), 'open after the rotated request');
    });

    test('after copytruncate the next request still opens', async () => {
      writeFileSync(nginx.accessLog, ''); // what logrotate's copytruncate does after copying
      assert.equal(await w.connect(w.lab.clients[2], 22), 'timeout');
      await get(2, '/ssh');
      assert.ok(await openFor(2), 'open after the truncated log got the request');
    });
  },
);
