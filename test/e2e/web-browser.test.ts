import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { totp } from '../../src/core/totp.js';
import { e2eSkip } from './support.js';
import { webLab, writeSecret } from './web-lab.js';

const DRIVER = fileURLToPath(new URL('./web-browser-driver.js', import.meta.url));
/** test-artifacts/ at the repository root (gitignored). */
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));

describe(
  'web knock: Chromium on the knock page',
  { skip: e2eSkip({ chromium: 'chromium', sshd: 'openssh-server' }) },
  () => {
    test('Chromium in the client namespace types the code, sees the confirmation, then ssh works', async () => {
      let key!: Buffer;
      const w = await webLab(
        (dir) => {
          const s = writeSecret(dir, 'ssh');
          key = s.key;
          return `
http:
  listen: 0.0.0.0:8443
doors:
  ssh:
    http: { token: totp, secret: ${s.file} }
    open: [22]
    for: 30s
`;
        },
        { clients: 1, ready: /http-listening/ },
      );
      try {
        const c0 = w.lab.clients[0];
        assert.equal(await w.connect(c0, 22), 'timeout', 'closed before the knock');
        mkdirSync(ARTIFACTS, { recursive: true });
        const shot = `${ARTIFACTS}web-knock-page.png`;
        const run = await w.lab.run(
          c0,
          process.execPath,
          [DRIVER, 'http://198.18.0.1:8443/', 'ssh', totp(key, Date.now()), shot],
          {
            timeoutMs: 60_000,
          },
        );
        assert.equal(run.code, 0, `browser driver failed: ${run.stderr}`);
        const seen = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}');
        assert.deepEqual(seen.labels, ['Door', 'Code']);
        assert.equal(seen.status, 200);
        assert.match(seen.result, /^ssh open for 198\.18\.0\.10 until \d\d:\d\d:\d\d$/);
        const login = await w.sshd.ssh(c0, { connectTimeoutS: 5 });
        assert.ok(login.ok, `ssh from the browser's namespace: ${login.stderr}`);
        assert.equal(await w.connect(c0, 22), 'open', 'the same check as before the knock sees it open');
      } finally {
        w.destroy();
      }
    });
  },
);
