import assert from 'node:assert/strict';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { base32Encode } from '../../src/core/totp.js';
import { createLab } from '../../src/lab/netns.js';
import { sesame, startDaemon } from '../../src/lab/processes.js';
import { e2eSkip, eventually, tempDir } from './support.js';

describe('sesame serve with a secret file others can read', { skip: e2eSkip() }, () => {
  test('is refused with file:line, field and `chmod 600`, loads nothing; --allow-readable-secrets starts with a warning', async () => {
    const lab = createLab({ name: 'sec' });
    const dir = tempDir('sesame-secrets-');
    try {
      const key = join(dir, 'web.key');
      writeFileSync(key, `${base32Encode(Buffer.alloc(20, 7))}\n`);
      chmodSync(key, 0o644);
      const config = join(dir, 'sesame.yaml');
      writeFileSync(config, `http:\n  listen: 8443\ndoors:\n  web:\n    http: { secret: ${key} }\n    open: [22]\n`);

      const refused = await sesame(lab, lab.server, ['serve', '-c', config, '--state-dir', dir], { timeoutMs: 10_000 });
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, new RegExp(`${config}:5:\\d+ doors\\.web\\.http\\.secret: .*chmod 600 ${key}`));
      const table = await lab.run(lab.server, 'nft', ['list', 'table', 'inet', 'sesame']);
      assert.notEqual(table.code, 0, 'nothing was loaded');

      const daemon = await startDaemon(lab, lab.server, [
        '-c',
        config,
        '--state-dir',
        dir,
        '--log-format',
        'json',
        '--allow-readable-secrets',
      ]);
      try {
        assert.match(daemon.output(), /"level":"warn".*"event":"readable-secret".*chmod 600/);
        assert.ok(await eventually(() => /http-listening/.test(daemon.output())), daemon.output());
        const loaded = await lab.run(lab.server, 'nft', ['list', 'table', 'inet', 'sesame']);
        assert.equal(loaded.code, 0, `the same check sees the table once serve starts:\n${loaded.stderr}`);
      } finally {
        daemon.kill('SIGTERM');
      }
    } finally {
      lab.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
