import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfigInChild } from '../../../src/cli/config-process.js';
import { ConfigError, type ConfigProblem } from '../../../src/config/config-error.js';
import { loadFwknopAccess } from '../../../src/config/fwknop-plan.js';
import { loadKnockdConf } from '../../../src/config/knockd-plan.js';
import { loadConfigFile } from '../../../src/config/load-config.js';
import { tempDir } from '../../e2e/support.js';

describe('serve loads its config in a child process', () => {
  test('a sesame.yaml gives the plan loading it in-process gives, frozen', async () => {
    const dir = tempDir();
    const file = join(dir, 'sesame.yaml');
    writeFileSync(
      file,
      'doors:\n  web:\n    knock: [6000, 7000]\n    open: [80]\n    for: 30s\n    run: { start: "logger %IP%" }\n',
    );
    const { plan } = await loadConfigInChild({ kind: 'sesame', file, readableSecrets: 'refuse' });
    assert.deepEqual(plan, loadConfigFile(file));
    assert.ok(Object.isFrozen(plan) && Object.isFrozen(plan.doors[0]));
  });

  test('a bad config is the same ConfigError, with file:line and field', async () => {
    const dir = tempDir();
    const file = join(dir, 'sesame.yaml');
    writeFileSync(file, 'doors:\n  web:\n    knock: [6000, 70000]\n    open: [80]\n');
    const err = await loadConfigInChild({ kind: 'sesame', file, readableSecrets: 'refuse' }).then(
      () => assert.fail('accepted'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /sesame\.yaml:3:\d+ doors\.web\.knock\[1\]: .*65535/);
    assert.throws(() => loadConfigFile(file), { message: err.message });
  });

  test('a secret others can read: refused, or with warn a warning handed back', async () => {
    const dir = tempDir();
    const secret = join(dir, 'key');
    writeFileSync(secret, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n');
    chmodSync(secret, 0o644);
    const file = join(dir, 'sesame.yaml');
    writeFileSync(
      file,
      `http: { listen: "127.0.0.1:8080" }\ndoors:\n  ssh:\n    http: { token: hmac, secret: ${secret} }\n    open: [22]\n`,
    );
    await assert.rejects(loadConfigInChild({ kind: 'sesame', file, readableSecrets: 'refuse' }), ConfigError);
    const warnings: ConfigProblem[] = [];
    const { plan } = await loadConfigInChild({ kind: 'sesame', file, readableSecrets: 'warn' }, (p) =>
      warnings.push(p),
    );
    assert.equal(plan.doors[0].name, 'ssh');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].message, /chmod 600/);
  });

  test("an access.conf's key bytes arrive as bytes", async () => {
    const dir = tempDir();
    const file = join(dir, 'access.conf');
    writeFileSync(
      file,
      'SOURCE ANY\nOPEN_PORTS tcp/22\nKEY_BASE64 c2VzYW1lLXRlc3Qta2V5LTAxMjM0NTY3ODkwMTIzNDU=\nHMAC_KEY_BASE64 aG1hYy1rZXktZm9yLXNlc2FtZS10ZXN0cy0wMTIzNDU2Nzg5MDEyMzQ1Njc4OQ==\n',
    );
    const { plan } = await loadConfigInChild({ kind: 'fwknop', file });
    assert.deepEqual(plan, loadFwknopAccess(file));
    const door = plan.doors[0];
    assert.ok(door.kind === 'spa' && door.spa.key!.hmacKey instanceof Uint8Array && door.spa.key!.hmacKey.length > 0);
  });

  test('a knockd.conf brings its [options] and notes', async () => {
    const dir = tempDir();
    const file = join(dir, 'knockd.conf');
    writeFileSync(
      file,
      `[options]\n  LogFile = ${dir}/knockd.log\n[openSSH]\n  sequence = 7000,8000,9000 # ports\n  command = /bin/true\n`,
    );
    const loaded = await loadConfigInChild({ kind: 'knockd', file });
    const direct = loadKnockdConf(file);
    assert.deepEqual(loaded.plan, direct.plan);
    assert.equal(loaded.logFile, `${dir}/knockd.log`);
    assert.deepEqual(loaded.notes, direct.notes);
    assert.ok(loaded.notes.length > 0, 'the inline comment is noted');
  });
});
