import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SESAME_BIN } from '../../src/lab/processes.js';
import { e2eSkip, eventually, sleep } from './support.js';
import { startNginx, type WebLab, webLab } from './web-lab.js';

const SITE = 'http://198.18.0.1';

describe(
  'web knock: an nginx access log opens ssh (fail2ban-style)',
  { skip: e2eSkip({ nginx: 'nginx', curl: 'curl', sshd: 'openssh-server', logrotate: 'logrotate' }) },
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
      assert.equal((await get(1, '/index.html')).status, 200);
      // positive control, and the sign that the line above was read: the log is read in order, so
      // once client 0's /ssh (written after it) has opened, client 1's line was seen too
      assert.equal((await get(0, '/ssh')).status, 404);
      assert.ok(await openFor(0), 'the same check sees /ssh open the door');
      assert.equal(await w.connect(w.lab.clients[1], 22), 'timeout', '/index.html opened nothing');
      assert.equal(await w.connect(w.lab.clients[2], 22), 'timeout', 'the old line still opened nothing');
    });

    test('curl /ssh (a 404) opens tcp/22 for that client only, for the door time; ssh works', async () => {
      const [c0, c1] = w.lab.clients;
      // client 0 may still hold the grant of the test above: wait it out, so this knock opens anew
      assert.ok(await eventually(async () => (await w.connect(c0, 22, 700)) === 'timeout', 8000), 'closed first');
      const r = await get(0, '/ssh');
      assert.equal(r.status, 404, 'nginx answers 404; the log line is the knock');
      assert.ok(await openFor(0), 'open after the request');
      const openedAt = Date.now();
      const login = await w.sshd.ssh(c0, { connectTimeoutS: 5 });
      assert.ok(login.ok, `ssh login: ${login.stderr}`);
      assert.equal(await w.connect(c1, 22), 'timeout', 'another client stays out');
      // the behaviour under test: the grant's `for` (4 s) runs out
      await sleep(Math.max(0, openedAt + 4500 - Date.now()));
      assert.equal(await w.connect(c0, 22), 'timeout', 'closed after `for`');
    });

    test('sesame match on the real access log prints the /ssh lines and their clients, like fail2ban-regex', () => {
      const [c0, , c2] = w.lab.clients;
      const r = spawnSync(
        process.execPath,
        [SESAME_BIN, 'match', nginx.accessLog, '--match', '^<HOST> -.*"GET /ssh', '--json'],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      const got = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const log = readFileSync(nginx.accessLog, 'utf8').split('\n');
      const ssh = (n: number) => /"GET \/ssh /.test(log[n - 1]);
      assert.deepEqual(
        got.map((g) => g.host),
        [c2.v4, c0.v4, c0.v4],
        'the request before the daemon started (client 3), then client 1 twice',
      );
      assert.ok(
        got.every((g) => ssh(g.line)),
        'every printed line number is a GET /ssh line of the log',
      );
      assert.ok(
        log.some((l) => /"GET \/index.html /.test(l)),
        'the log also has a line that must not match',
      );
      assert.match(r.stderr, /lines, 3 matched, 3 with an address \(2 distinct\)/);
      const text = spawnSync(
        process.execPath,
        [SESAME_BIN, 'match', nginx.accessLog, '--match', '^<HOST> -.*"GET /ssh'],
        {
          encoding: 'utf8',
        },
      );
      assert.match(text.stdout, new RegExp(`^${got[0].line} ${c2.v4.replaceAll('.', '\\.')}$`, 'm'));
    });

    /** Runs Debian's logrotate once, forced, with `directives` for the access log. */
    const logrotate = async (name: string, directives: string) => {
      const conf = join(w.dir, `${name}.logrotate`);
      writeFileSync(conf, `${nginx.accessLog} {\n  rotate 3\n  nocompress\n  missingok\n${directives}\n}\n`);
      const r = await w.lab.run(w.lab.server, 'logrotate', ['-f', '-s', join(w.dir, 'logrotate.state'), conf]);
      assert.equal(r.code, 0, r.stderr);
    };

    test('after logrotate (rename + create + nginx -s reopen) the next request still opens', async () => {
      const reopen = `nginx -c ${nginx.conf} -p ${join(w.dir, 'nginx')} -s reopen`;
      await logrotate('rename', `  create\n  postrotate\n    ${reopen}\n  endscript`);
      assert.ok(existsSync(`${nginx.accessLog}.1`), 'logrotate renamed the log');
      assert.equal(await w.connect(w.lab.clients[1], 22), 'timeout');
      await get(1, '/ssh');
      assert.ok(await openFor(1), 'open after the rotated request');
    });

    test('after logrotate with copytruncate the next request still opens', async () => {
      await logrotate('copytruncate', '  copytruncate');
      assert.equal(await w.connect(w.lab.clients[2], 22), 'timeout');
      await get(2, '/ssh');
      assert.ok(await openFor(2), 'open after the truncated log got the request');
    });
  },
);
