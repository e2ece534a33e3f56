import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeHmacToken } from '../../src/core/knock-token.js';
import { totp } from '../../src/core/totp.js';
import { e2eSkip, sleep } from './support.js';
import { type WebLab, webLab, writeSecret } from './web-lab.js';

const URL = 'http://198.18.0.1:8443';

describe('web knock: the built-in HTTP endpoint', { skip: e2eSkip({ curl: 'curl', sshd: 'openssh-server' }) }, () => {
  let w: WebLab;
  let sshKey: Buffer;
  let proxiedKey: Buffer;
  let webKey: Buffer;

  before(async () => {
    w = await webLab(
      (dir) => {
        const ssh = writeSecret(dir, 'ssh');
        const proxied = writeSecret(dir, 'proxied');
        const web = writeSecret(dir, 'web');
        sshKey = ssh.key;
        proxiedKey = proxied.key;
        webKey = web.key;
        return `
http:
  listen: 0.0.0.0:8443
  trusted_proxies: [198.18.0.12]
  rate_limit: { attempts: 40, per: 60s }
doors:
  ssh:
    http: { token: totp, secret: ${ssh.file} }
    open: [22]
    for: 4s
  proxied:
    http: { token: [totp, hmac], secret: ${proxied.file} }
    open: [2222]
    for: 15s # long enough for the asserts after a grant on a loaded CI machine
  plain:
    http: { token: none, path: /k/4f9c2e1a77 }
    open: [2223]
    for: 4s
  web:
    http: { token: totp, secret: ${web.file} }
    open: [2224]
    for: 30s
`;
      },
      { clients: 3, echo: [2222, 2223, 2224], ready: /http-listening/ },
    );
  });
  after(() => w?.destroy());

  const post = (client: number, door: string, token: string, extra: string[] = []) =>
    w.curl(w.lab.clients[client], [
      '-X',
      'POST',
      '-H',
      'Content-Type: text/plain',
      '--data-binary',
      token,
      ...extra,
      `${URL}/knock/${door}`,
    ]);

  test('a valid TOTP code opens ssh for that client only, once, for the door time', async () => {
    const [c0, c1] = w.lab.clients;
    assert.equal(await w.connect(c0, 22), 'timeout', 'closed before the knock');
    const code = totp(sshKey, Date.now());
    const r = await post(0, 'ssh', code);
    const openedAt = Date.now();
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /^ssh open for 198\.18\.0\.10 until \d\d:\d\d:\d\d$/);
    const login = await w.sshd.ssh(c0, { connectTimeoutS: 5 });
    assert.ok(login.ok, `ssh after the knock: ${login.stderr}`);
    assert.equal(await w.connect(c0, 22), 'open', 'the same check sees the knocker in');
    assert.equal(await w.connect(c1, 22), 'timeout', 'another client stays out');

    const again = await post(1, 'ssh', code);
    assert.equal(again.status, 403, 'the same code again is refused, even from another address');
    assert.equal(await w.connect(c1, 22), 'timeout');

    // the behaviour under test: the grant's `for` (4 s) runs out
    await sleep(Math.max(0, openedAt + 4500 - Date.now()));
    assert.equal(await w.connect(c0, 22), 'timeout', 'closed again after `for`');
  });

  test('a wrong code and a wrong door get the same 403', async () => {
    const c2 = 2;
    const good = totp(sshKey, Date.now());
    const wrong = String((Number(good) + 1) % 1e6).padStart(6, '0');
    const r1 = await post(c2, 'ssh', wrong);
    const r2 = await post(c2, 'nosuchdoor', good);
    assert.equal(r1.status, 403);
    assert.deepEqual(r2, r1, 'a wrong door answers exactly like a wrong code');
    assert.equal(await w.connect(w.lab.clients[2], 22), 'timeout');
    // positive control: a right code from the same client opens the same port (the next step's
    // code: this step's may have been used by the test above)
    const right = await post(c2, 'ssh', totp(sshKey, Date.now() + 30_000));
    assert.equal(right.status, 200, right.body);
    assert.equal(await w.connect(w.lab.clients[2], 22), 'open');

    // both wait for the same refusal floor (endpoint.ts); tests assert answers, not timings
  });

  test('X-Forwarded-For is ignored from an untrusted peer and used from a trusted proxy', async () => {
    const [c0, c1, proxy] = w.lab.clients;
    // client 0 (untrusted) claims to be client 1: the grant goes to client 0 itself
    const spoof = await post(0, 'proxied', makeHmacToken(proxiedKey, 'proxied', Date.now()), [
      '-H',
      `X-Forwarded-For: ${c1.v4}`,
    ]);
    assert.equal(spoof.status, 200, spoof.body);
    assert.match(spoof.body, /for 198\.18\.0\.10 /);
    assert.equal(await w.connect(c1, 2222), 'timeout', 'the address in the header got nothing');
    assert.equal(await w.connect(c0, 2222), 'open');

    // the trusted proxy (client 2) forwards for client 1: client 1 is granted, not the proxy
    const viaProxy = await post(2, 'proxied', makeHmacToken(proxiedKey, 'proxied', Date.now()), [
      '-H',
      `X-Forwarded-For: ${c1.v4}`,
    ]);
    assert.equal(viaProxy.status, 200, viaProxy.body);
    assert.match(viaProxy.body, /for 198\.18\.0\.11 /);
    assert.equal(await w.connect(c1, 2222), 'open');
    assert.equal(await w.connect(proxy, 2222), 'timeout', 'the proxy itself is not granted');
  });

  test('an HMAC token from `sesame knock --http` opens, and replaying it does not', async () => {
    const { sesame } = await import('../../src/lab/processes.js');
    const c1 = w.lab.clients[1];
    const r = await sesame(w.lab, c1, ['knock', '--http', URL, 'proxied', '-c', w.config]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^proxied open for 198\.18\.0\.11 until /);
    const t = (await sesame(w.lab, c1, ['token', 'proxied', '-c', w.config])).stdout.trim();
    assert.match(t, /^s1\.proxied\.\d+\./);
    assert.equal((await post(1, 'proxied', t)).status, 200);
    assert.equal((await post(1, 'proxied', t)).status, 403, 'the same token again is refused');
  });

  test("docs/web.md's `curl --data-binary CODE URL` opens (curl's default form type), and so do form fields and JSON", async () => {
    // regression: the bare body arrived as application/x-www-form-urlencoded and was refused
    const [c0, c1, c2] = w.lab.clients;
    assert.equal(await w.connect(c0, 2224), 'timeout', 'closed before the knock');
    const bare = await w.curl(c0, ['--data-binary', totp(webKey, Date.now()), `${URL}/knock/web`]);
    assert.equal(bare.status, 200, bare.body);
    assert.equal(await w.connect(c0, 2224), 'open');

    const token = () => makeHmacToken(proxiedKey, 'proxied', Date.now());
    // (2222 may still be open for these clients from the tests above: the answer says it opened)
    const field = await w.curl(c1, ['--data-urlencode', `token=${token()}`, `${URL}/knock/proxied`]);
    assert.equal(field.status, 200, field.body);
    assert.match(field.body, /^proxied open for 198\.18\.0\.11 /);
    const json = await w.curl(c2, [
      '-H',
      'Content-Type: application/json',
      '--data-binary',
      JSON.stringify({ token: token() }),
      `${URL}/knock/proxied`,
    ]);
    assert.equal(json.status, 200, json.body);
    assert.match(json.body, /^proxied open for 198\.18\.0\.12 /);
    const wrong = await w.curl(c2, ['--data-binary', '000000', `${URL}/knock/web`]);
    assert.equal(wrong.status, 403, 'a bare wrong code is still refused');
  });

  test('plain secret path (token: none) opens with GET; other paths are 404', async () => {
    const c2 = w.lab.clients[2];
    assert.equal((await w.curl(c2, [`${URL}/k/4f9c2e1a78`])).status, 404);
    assert.equal(await w.connect(c2, 2223), 'timeout');
    const r = await w.curl(c2, [`${URL}/k/4f9c2e1a77`]);
    assert.equal(r.status, 200, r.body);
    assert.equal(await w.connect(c2, 2223), 'open');
  });
});

describe(
  'web knock: HTTPS endpoint, rate limit, phone setup',
  { skip: e2eSkip({ curl: 'curl', openssl: 'openssl', sshd: 'openssh-server' }) },
  () => {
    test('sesame knock --http over TLS opens; past the rate limit the answer is 429; --totp-uri is an otpauth URI', async () => {
      const { join } = await import('node:path');
      const { sesame } = await import('../../src/lab/processes.js');
      const { selfSignedCert } = await import('../../src/lab/https-site.js');
      let cert = '';
      const w = await webLab(
        (dir) => {
          const s = writeSecret(dir, 'ssh');
          cert = selfSignedCert(dir, '198.18.0.1').cert;
          return `
http:
  listen: 0.0.0.0:8443
  tls: { cert: ${cert}, key: ${join(dir, 'key.pem')} }
  rate_limit: { attempts: 2, per: 60s }
doors:
  ssh:
    http: { token: [totp, hmac], secret: ${s.file} }
    open: [22]
    for: 4s
`;
        },
        { clients: 1, ready: /http-listening.*"tls":true/ },
      );
      try {
        const c0 = w.lab.clients[0];
        const https = 'https://198.18.0.1:8443';
        const r = await sesame(w.lab, c0, ['knock', '--http', https, 'ssh', '-c', w.config, '--cacert', cert]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^ssh open for 198\.18\.0\.10 until /);
        const login = await w.sshd.ssh(c0, { connectTimeoutS: 5 });
        assert.ok(login.ok, login.stderr);

        const second = await w.curl(c0, ['--cacert', cert, '--data-binary', '000000', `${https}/knock/ssh`]);
        assert.equal(second.status, 403);
        const third = await w.curl(c0, ['--cacert', cert, '--data-binary', '000000', `${https}/knock/ssh`]);
        assert.equal(third.status, 429, 'the third attempt within a minute is rate-limited');
        assert.match(third.body, /too many attempts from 198\.18\.0\.10/);

        const uri = await sesame(w.lab, c0, ['token', 'ssh', '-c', w.config, '--totp-uri']);
        assert.match(
          uri.stdout.trim(),
          /^otpauth:\/\/totp\/sesame:ssh%40.+\?secret=[A-Z2-7]+&issuer=sesame&algorithm=SHA1&digits=6&period=30$/,
        );
      } finally {
        w.destroy();
      }
    });
  },
);
