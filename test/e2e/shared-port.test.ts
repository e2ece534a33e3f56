import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { base32Encode } from '../../src/core/totp.js';
import { encodeTokenKnock } from '../../src/core/shared-secret.js';
import { createLab, type Host, type Lab } from '../../src/lab/netns.js';
import { connectFrom, SESAME_BIN, startDaemon } from '../../src/lab/processes.js';
import { type LabSshd, startSshd } from '../../src/lab/sshd.js';
import { BACKENDS, type Backend, loadDaemonless } from './daemonless.js';
import { type HttpsSite, SITE_BODY, startHttpsSite } from '../../src/lab/https-site.js';
import { e2eSkip, eventually, sleep, tempDir } from './support.js';

const SECRET = 'open-sesame-0123456789\n';
const TOKEN_KEY = base32Encode(Buffer.from('0123456789abcdef0123456789abcdef'));

/** A server with nginx on 443, sshd on 22 and sesame serving one shared-port door. */
interface SharedLab {
  readonly lab: Lab;
  readonly dir: string;
  readonly sshd: LabSshd;
  readonly daemon?: Awaited<ReturnType<typeof startDaemon>>;
  readonly secret: string;
  readonly clients: Host[];
  destroy(): void;
}

/** `daemonless`: load `sesame compile` output with that backend instead of running `sesame serve`. */
async function sharedLab(door: string, opts: { clients?: number; daemonless?: Backend } = {}): Promise<SharedLab> {
  const lab = createLab({ clients: opts.clients ?? 2, name: 'sh' });
  const dir = tempDir();
  let site: HttpsSite | undefined;
  let sshd: LabSshd | undefined;
  const destroy = () => {
    site?.stop();
    sshd?.stop();
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const secret = join(dir, 'secret');
    writeFileSync(secret, SECRET, { mode: 0o600 });
    writeFileSync(join(dir, 'token.key'), `${TOKEN_KEY}\n`, { mode: 0o600 });
    const config = join(dir, 'sesame.yaml');
    const yaml = `doors:\n${door.replaceAll('SECRET', secret).replaceAll('TOKENKEY', join(dir, 'token.key'))}`;
    writeFileSync(config, yaml);
    sshd = await startSshd(lab, lab.server);
    site = await startHttpsSite(lab, lab.server, lab.clients[0]);
    if (opts.daemonless) {
      await loadDaemonless(lab, lab.server, yaml, opts.daemonless);
      return { lab, dir, sshd, secret, clients: lab.clients, destroy };
    }
    const daemon = await startDaemon(lab, lab.server, ['-c', config, '--state-dir', dir, '--log-format', 'json']);
    return { lab, dir, sshd, daemon, secret, clients: lab.clients, destroy };
  } catch (err) {
    destroy();
    throw err;
  }
}

const ONESHOT = `  ssh443:
    shared: { port: 443, secret: SECRET, redirect_to: 22 }
    for: 30s
`;

const serverAddress = (l: SharedLab, family: 4 | 6) => (family === 4 ? l.lab.server.v4 : l.lab.server.v6);

/** `curl -k https://SERVER/` from `client`: true when the site answered. */
async function getsSite(l: SharedLab, client: Host, family: 4 | 6 = 4): Promise<boolean> {
  const host = family === 4 ? l.lab.server.v4 : `[${l.lab.server.v6}]`;
  const r = await l.lab.run(client, 'curl', ['-sk', '--max-time', '3', `https://${host}/`], { timeoutMs: 6000 });
  return r.stdout.includes(SITE_BODY);
}

/** ssh with sesame as ProxyCommand; `ok` when the remote command ran (stderr says why not). */
async function sshThrough(l: SharedLab, client: Host, proxyArgs: string, family: 4 | 6 = 4) {
  const proxy = `${process.execPath} ${SESAME_BIN} knock ${proxyArgs}`;
  return l.sshd.ssh(client, {
    target: serverAddress(l, family),
    options: [`ProxyCommand=${proxy}`, 'ConnectionAttempts=1'],
    connectTimeoutS: 8,
  });
}

/** Asserts that ssh through `proxyArgs` logs in, with ssh's and sesame's stderr when it doesn't. */
async function assertLogin(l: SharedLab, client: Host, proxyArgs: string, family: 4 | 6 = 4, what = 'ssh logs in') {
  const r = await sshThrough(l, client, proxyArgs, family);
  assert.ok(r.ok, `${what}: ${r.stderr}`);
}

/** Sends raw bytes on one connection to 443 from `client`: `chunks` with a pause between. */
async function sendRaw(l: SharedLab, client: Host, chunks: readonly Buffer[], family: 4 | 6 = 4): Promise<string> {
  const script = `
    const s = require('net').connect({ host: ${JSON.stringify(serverAddress(l, family))}, port: 443 });
    const chunks = ${JSON.stringify(chunks.map((c) => c.toString('base64')))}.map((c) => Buffer.from(c, 'base64'));
    s.setNoDelay(true);
    s.on('connect', async () => {
      for (const c of chunks) { s.write(c); await new Promise((r) => setTimeout(r, 150)); }
      setTimeout(() => { console.log('open'); process.exit(0); }, 300);
    });
    s.on('error', (e) => { console.log(e.code); process.exit(0); });`;
  const r = await l.lab.run(client, process.execPath, ['-e', script], { timeoutMs: 5000 });
  return r.stdout.trim();
}

async function redirectSet(l: SharedLab, door: string, family: 4 | 6 = 4): Promise<string> {
  const r = await l.lab.run(l.lab.server, 'nft', ['list', 'set', 'inet', 'sesame', `${door}_open_${family}`]);
  const elements = /elements = \{([^}]*)\}/.exec(r.stdout)?.[1] ?? '';
  // `198.18.0.10 expires 29s988ms, ...`: the addresses only
  return elements
    .split(',')
    .map((e) => e.trim().split(/\s+/)[0])
    .filter(Boolean)
    .join(',');
}

/** A direct connect to sshd's own port 22 from `client`. */
async function direct22(l: SharedLab, client: Host, family: 4 | 6 = 4) {
  return (await connectFrom(l.lab, client, serverAddress(l, family), 22, 1000)).result;
}

/**
 * The positive control of every "no direct 22" check: with the server's rules flushed (sesame's
 * table or iptables-nft's), the same connect reaches sshd. Last in a test: it removes the door.
 */
async function assertDirect22OpensUnhidden(l: SharedLab, client: Host, families: readonly (4 | 6)[] = [4]) {
  const flush = await l.lab.run(l.lab.server, 'nft', ['flush', 'ruleset']);
  assert.equal(flush.code, 0, flush.stderr);
  for (const family of families)
    assert.equal(await direct22(l, client, family), 'open', `IPv${family}: sshd answers on 22 once nothing hides it`);
}

describe(
  'shared-port door (443): a secret sends the next connection to sshd',
  { skip: e2eSkip({ nginx: 'nginx', sshd: 'openssh-server', curl: 'curl' }) },
  () => {
    test('everyone gets the HTTPS site, and sshd is not reachable directly on 22', async () => {
      const l = await sharedLab(ONESHOT);
      try {
        assert.ok(await getsSite(l, l.clients[0]));
        assert.ok(await getsSite(l, l.clients[1], 6));
        assert.equal(await direct22(l, l.clients[0]), 'timeout');
        assert.equal(await direct22(l, l.clients[0], 6), 'timeout');
        await assertDirect22OpensUnhidden(l, l.clients[0], [4, 6]);
      } finally {
        l.destroy();
      }
    });

    test('ssh with the secret as ProxyCommand logs in; right after, the same address gets the site again; others always do', async () => {
      const l = await sharedLab(ONESHOT);
      try {
        const [alice, bob] = l.clients;
        assert.ok(await getsSite(l, alice), 'the site before the knock');
        await assertLogin(l, alice, `--proxy %h 443 --secret-file ${l.secret}`, 4, 'ssh logs in through 443');
        assert.ok(await getsSite(l, alice), 'one-shot: the next connection from alice gets the site');
        assert.ok(await getsSite(l, bob), 'bob never sent the secret');
        assert.equal(await redirectSet(l, 'ssh443'), '', 'the redirect was used up');
        assert.equal(await direct22(l, alice), 'timeout', 'still no direct 22');
        const log = await eventually(() => /"event":"open".*"door":"ssh443".*198\.18\.0\.10/.test(l.daemon!.output()));
        assert.ok(log, `the daemon logs the redirect:\n${l.daemon!.output()}`);
        await assertDirect22OpensUnhidden(l, alice);
      } finally {
        l.destroy();
      }
    });

    test('a pending redirect is no pass to 22 directly (regression: the grant set also accepted direct connects)', async () => {
      const l = await sharedLab(ONESHOT);
      try {
        const [alice] = l.clients;
        assert.equal(
          await sendRaw(l, alice, [Buffer.from(SECRET)]),
          'ECONNRESET',
          'the secret is answered with a reset',
        );
        assert.equal(await redirectSet(l, 'ssh443'), alice.v4, 'alice holds the redirect');
        assert.equal(await direct22(l, alice), 'timeout', 'but not a direct way to 22');
        assert.equal(await redirectSet(l, 'ssh443'), alice.v4, 'and the redirect is still hers to use');
        await assertDirect22OpensUnhidden(l, alice);
      } finally {
        l.destroy();
      }
    });

    test('a wrong secret redirects nothing, and ssh through it fails', async () => {
      const l = await sharedLab(ONESHOT);
      try {
        const wrong = join(l.dir, 'wrong');
        writeFileSync(wrong, 'open-sesame-0123456780\n');
        assert.equal(
          await sendRaw(l, l.clients[0], [Buffer.from('open-sesame-0123456780')]),
          'open',
          'no reset for a wrong secret',
        );
        assert.equal(await redirectSet(l, 'ssh443'), '');
        assert.equal((await sshThrough(l, l.clients[0], `--proxy %h 443 --secret-file ${wrong}`)).ok, false);
        assert.ok(await getsSite(l, l.clients[0]));
        // positive control: the same ssh with the right secret logs in
        await assertLogin(l, l.clients[0], `--proxy %h 443 --secret-file ${l.secret}`, 4, 'the right secret logs in');
      } finally {
        l.destroy();
      }
    });

    test('the secret sent after other bytes of a connection redirects nothing', async () => {
      const l = await sharedLab(ONESHOT);
      try {
        const answer = await sendRaw(l, l.clients[0], [Buffer.from('hello\n'), Buffer.from(SECRET.trim())]);
        assert.equal(answer, 'open', 'the connection was not reset');
        assert.equal(await redirectSet(l, 'ssh443'), '');
        assert.ok(await getsSite(l, l.clients[0]));
        // the same bytes first in a connection do knock: the test above is not passing by accident
        assert.equal(await sendRaw(l, l.clients[0], [Buffer.from(SECRET.trim())]), 'ECONNRESET');
        assert.equal(await redirectSet(l, 'ssh443'), '198.18.0.10');
      } finally {
        l.destroy();
      }
    });

    test('mode: window sends every connection from the knocker to sshd for `for`, then none', async () => {
      const l = await sharedLab(`  ssh443:
    shared: { port: 443, secret: SECRET, mode: window }
    for: 4s
`);
      try {
        const [alice, bob] = l.clients;
        assert.equal(await sendRaw(l, alice, [Buffer.from(SECRET.trim())]), 'ECONNRESET');
        const knocked = Date.now();
        assert.equal(await getsSite(l, alice), false, 'the seed: the site is gone for the knocker');
        assert.equal(await getsSite(l, alice), false, 'still gone on the second connection');
        await assertLogin(l, alice, `--proxy %h 443 --secret-file ${l.secret}`, 4, 'ssh logs in during the window');
        assert.ok(await getsSite(l, bob), 'other addresses get the site');
        // the behaviour under test: the window (`for`: 4 s) runs out
        await sleep(Math.max(0, knocked + 4500 - Date.now()));
        assert.ok(await getsSite(l, alice), 'after `for` the knocker gets the site again');
      } finally {
        l.destroy();
      }
    });

    test('IPv6: ssh through 443 logs in, then the site again; no direct 22', async () => {
      const l = await sharedLab(ONESHOT);
      try {
        const [alice, bob] = l.clients;
        await assertLogin(l, alice, `--proxy %h 443 --secret-file ${l.secret}`, 6);
        assert.ok(await getsSite(l, alice, 6));
        assert.ok(await getsSite(l, bob, 6));
        assert.equal(await sendRaw(l, alice, [Buffer.from('wrong-secret-bytes')], 6), 'open');
        assert.equal(await redirectSet(l, 'ssh443', 6), '');
        assert.equal(await direct22(l, alice, 6), 'timeout');
        // positive control: the right secret on the same kind of connection redirects
        assert.equal(await sendRaw(l, alice, [Buffer.from(SECRET.trim())], 6), 'ECONNRESET');
        assert.equal(await redirectSet(l, 'ssh443', 6), alice.v6, 'the right secret is a redirect');
        await assertDirect22OpensUnhidden(l, alice, [6]);
      } finally {
        l.destroy();
      }
    });

    test('ProxyCommand knocks any door first: --then-connect %h %p DOOR, and --proxy %h DOOR, with -c sesame.yaml', async () => {
      const l = await sharedLab(`${ONESHOT}  ssh-knock:
    knock: [7000, 8000, 9000]
    open: [22]
    for: 5s
`);
      try {
        const [alice, bob] = l.clients;
        const config = join(l.dir, 'sesame.yaml');
        await assertLogin(l, alice, `--then-connect %h %p ssh-knock -c ${config}`, 4, 'port knock, then ssh on 22');
        assert.equal(await direct22(l, alice), 'open', 'the port knock opened 22 itself for alice');
        await assertLogin(l, bob, `--proxy %h ssh443 -c ${config}`, 4, 'shared door by name');
        await assertLogin(l, bob, `--then-connect %h %p ssh443 -c ${config}`, 6, 'a shared door goes through its port');
        assert.ok(await getsSite(l, bob));
        assert.equal(await direct22(l, bob), 'timeout', 'bob never port-knocked');
      } finally {
        l.destroy();
      }
    });

    test('token variant: ssh logs in with a one-time token; a replayed token redirects nothing', async () => {
      const l = await sharedLab(`  tok443:
    shared: { port: 443, secret: TOKENKEY, secret_kind: token }
    for: 30s
`);
      try {
        const [alice, bob] = l.clients;
        const key = join(l.dir, 'token.key');
        await assertLogin(l, alice, `--proxy %h 443 --secret-file ${key} --token tok443`);
        assert.ok(await getsSite(l, alice), 'one-shot after a token too');

        // a sniffed token, replayed by another address
        const token = encodeTokenKnock(Buffer.from('0123456789abcdef0123456789abcdef'), 'tok443', Date.now());
        assert.equal(await sendRaw(l, alice, [token]), 'ECONNRESET');
        assert.ok(
          await eventually(async () => (await redirectSet(l, 'tok443')) === '198.18.0.10'),
          'the fresh token opened',
        );
        assert.equal(await sendRaw(l, bob, [token]), 'ECONNRESET', 'the kernel resets any token knock');
        assert.ok(await eventually(() => /token-refused.*replayed token/.test(l.daemon!.output())), l.daemon!.output());
        assert.equal(await redirectSet(l, 'tok443'), '198.18.0.10', 'bob got no redirect');
        assert.ok(await getsSite(l, bob));
      } finally {
        l.destroy();
      }
    });
  },
);

for (const backend of BACKENDS) {
  describe(
    `shared-port door from \`sesame compile\`, loaded with ${backend} and no daemon`,
    {
      skip: e2eSkip({ nginx: 'nginx', sshd: 'openssh-server', curl: 'curl', 'iptables-restore': 'iptables' }),
      concurrency: true,
    },
    () => {
      for (const family of [4, 6] as const) {
        test(`IPv${family}: ssh through 443 logs in, the site stays up, a wrong or late secret redirects nothing`, async () => {
          const l = await sharedLab(ONESHOT, { daemonless: backend });
          try {
            const [alice, bob] = l.clients;
            assert.ok(await getsSite(l, alice, family));
            assert.equal(await direct22(l, alice, family), 'timeout', 'no direct 22');
            assert.equal(
              await sendRaw(l, bob, [Buffer.from('open-sesame-0123456780')], family),
              'open',
              'wrong secret',
            );
            assert.equal(
              await sendRaw(l, bob, [Buffer.from('hello\n'), Buffer.from(SECRET.trim())], family),
              'open',
              'late secret',
            );
            assert.ok(await getsSite(l, bob, family), 'bob still gets the site');
            await assertLogin(l, alice, `--proxy %h 443 --secret-file ${l.secret}`, family);
            assert.ok(await getsSite(l, alice, family), 'one-shot');
            await assertDirect22OpensUnhidden(l, alice, [family]);
          } finally {
            l.destroy();
          }
        });
      }
    },
  );
}
