import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { selfSignedCert } from '../../src/lab/https-site.js';
import { waitForLine } from '../../src/lab/processes.js';
import { e2eSkip, eventually, tempDir } from './support.js';
import { webLab } from './web-lab.js';

const DRIVER = fileURLToPath(new URL('./oidc-browser-driver.js', import.meta.url));
const PROVIDER = fileURLToPath(new URL('./oidc-provider-lab.js', import.meta.url));
/** test-artifacts/ at the repository root (gitignored). */
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));

const ENDPOINT = 'https://198.18.0.1:8443';
const ISSUER = 'https://198.18.0.2:9443';
const CLIENT_SECRET = 'lab-client-secret-0123456789';

describe(
  'web knock: OIDC sign-in with a real OpenID Provider and Chromium',
  { skip: e2eSkip({ chromium: 'chromium', sshd: 'openssh-server', openssl: 'openssl' }) },
  () => {
    test('the provider down gives an error page; alice (group admins) opens for her address only; mallory and a replayed callback are refused', async () => {
      // certificates first: the daemon's environment names the provider's
      const certs = tempDir('sesame-oidc-');
      const idpDir = join(certs, 'idp');
      const siteDir = join(certs, 'site');
      for (const d of [idpDir, siteDir]) mkdirSync(d);
      const idpCert = selfSignedCert(idpDir, '198.18.0.2');
      const site = selfSignedCert(siteDir, '198.18.0.1');
      const w = await webLab(
        (dir) => {
          writeFileSync(join(dir, 'client-secret'), `${CLIENT_SECRET}\n`, { mode: 0o600 });
          return `
http:
  listen: 0.0.0.0:8443
  tls: { cert: ${site.cert}, key: ${site.key} }
doors:
  ssh:
    http:
      oidc:
        issuer: ${ISSUER}
        client_id: sesame
        client_secret_file: ${join(dir, 'client-secret')}
        redirect_uri: ${ENDPOINT}/oidc/callback
        allow: { groups: [admins], emails: [bob@example.org] }
    open: [22]
    for: 30s
`;
        },
        {
          clients: 2,
          peers: 1,
          ready: /http-listening/,
          // the daemon trusts the lab provider's certificate as a private CA would be trusted
          // the daemon trusts the lab provider's certificate as an admin adds a private CA
          daemonEnv: { NODE_EXTRA_CA_CERTS: idpCert.cert },
        },
      );
      let idp: ChildProcess | undefined;
      try {
        const [c0, c1] = w.lab.clients;
        mkdirSync(ARTIFACTS, { recursive: true });
        const signIn = async (login: string, shot: string) => {
          const run = await w.lab.run(
            c0,
            process.execPath,
            [DRIVER, `${ENDPOINT}/`, 'ssh', login, `${ARTIFACTS}${shot}`],
            {
              timeoutMs: 90_000,
            },
          );
          assert.equal(run.code, 0, `browser driver failed: ${run.stderr}\ndaemon:\n${w.daemon.output().slice(-2000)}`);
          return JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as {
            status: number;
            result: string;
            callback: string;
          };
        };
        assert.equal(await w.connect(c0, 22), 'timeout', 'closed before any sign-in');

        // provider down: sesame's own page says so, and nothing opens
        const down = await signIn('-', 'oidc-provider-down.png');
        assert.equal(down.status, 502);
        assert.match(down.result, /provider cannot be reached; nothing was opened/);
        assert.equal(await w.connect(c0, 22), 'timeout', 'still closed with the provider down');

        idp = w.lab.spawn(w.lab.peers[0], process.execPath, [
          PROVIDER,
          ISSUER,
          idpCert.cert,
          idpCert.key,
          'sesame',
          CLIENT_SECRET,
          `${ENDPOINT}/oidc/callback`,
        ]);
        await waitForLine(idp, /listening/, 20_000);

        // a real account outside `allow`
        const mallory = await signIn('mallory', 'oidc-not-allowed.png');
        assert.equal(mallory.status, 403);
        assert.match(mallory.result, /signed in as mallory@example\.org, but that account may not open this door/i);
        assert.equal(await w.connect(c0, 22), 'timeout', "mallory's sign-in opened nothing");

        // alice is in admins: the port opens for the browser's address, and only for it
        const alice = await signIn('alice', 'oidc-signed-in.png');
        assert.equal(alice.status, 200, alice.result);
        assert.match(
          alice.result,
          /^ssh open for 198\.18\.0\.10 until \d\d:\d\d:\d\d \(signed in as alice@example\.org\)$/,
        );
        assert.ok(
          await eventually(async () => (await w.connect(c0, 22)) === 'open', 5000),
          "open from the browser's address",
        );
        const login = await w.sshd.ssh(c0, { connectTimeoutS: 5 });
        assert.ok(login.ok, `ssh from the browser's namespace: ${login.stderr}`);
        assert.equal(await w.connect(c1, 22), 'timeout', 'another address stays closed');
        assert.match(w.daemon.output(), /"event":"oidc-signed-in".*"user":"alice@example\.org"/);

        // the callback URL replayed: from another address, and from alice's own (state used once)
        assert.match(alice.callback, /^https:\/\/198\.18\.0\.1:8443\/oidc\/callback\?code=/);
        for (const client of [c1, c0]) {
          const replay = await w.curl(client, ['-k', alice.callback]);
          assert.equal(replay.status, 403, `replayed callback from ${client.v4}`);
          assert.match(replay.body, /already used or has run out/);
        }
        assert.equal(await w.connect(c1, 22), 'timeout', 'the replay opened nothing for the other address');
      } finally {
        idp?.kill();
        w.destroy();
        rmSync(certs, { recursive: true, force: true });
      }
    });
  },
);
