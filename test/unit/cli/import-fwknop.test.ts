import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { importFwknopCommand } from '../../../src/cli/commands/import.js';
import { CliError } from '../../../src/cli/cli-error.js';
import { parseFwknopAccess } from '../../../src/config/fwknop-access.js';
import { loadConfigFile } from '../../../src/config/load-config.js';
import type { SpaDoor } from '../../../src/core/door.js';

const keys = `KEY_BASE64 ${Buffer.alloc(32, 1).toString('base64')}\nHMAC_KEY_BASE64 ${Buffer.alloc(64, 2).toString('base64')}`;

describe('sesame import --fwknop-access', () => {
  test('ACCESS_EXPIRE (a 2-digit year too) is kept, --keys-dir resolves from here, and the YAML loads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-import-fwknop-'));
    const conf = join(dir, 'access.conf');
    writeFileSync(conf, `SOURCE ANY\n${keys}\nOPEN_PORTS tcp/8000-8010\nACCESS_EXPIRE 01/31/30\n`);
    mkdirSync(join(dir, 'etc'));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const yaml = importFwknopCommand(conf, 'keys');
      assert.match(yaml, new RegExp(`keys: ${join(dir, 'keys')}/fwknop1.keys`));
      assert.match(yaml, /expires: "2030-01-3\dT\d\d:00:00.000Z" {3}# ACCESS_EXPIRE/);
      // the YAML elsewhere than the keys: the paths still resolve
      writeFileSync(join(dir, 'etc', 'sesame.yaml'), yaml);
      const plan = loadConfigFile(join(dir, 'etc', 'sesame.yaml'));
      const d = plan.doors[0] as SpaDoor;
      assert.equal(d.spa.expiresAtMs, new Date(2030, 0, 31).getTime());
      // fwknopd reads tcp/8000-8010 as tcp/8000 (strtol), and so does sesame
      assert.deepEqual(d.open, [{ proto: 'tcp', port: 8000 }]);
      assert.deepEqual(d.open, parseFwknopAccess(`SOURCE ANY\n${keys}\nOPEN_PORTS tcp/8000-8010\n`)[0].open);
      // a re-run names the key files instead of a raw EEXIST
      assert.throws(
        () => importFwknopCommand(conf, 'keys'),
        (err: unknown) =>
          err instanceof CliError && /fwknop1\.keys already exists; key files are never overwritten/.test(err.message),
      );
    } finally {
      process.chdir(cwd);
    }
  });

  test('a stanza without OPEN_PORTS is written with hide:, and passes the loader', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-import-fwknop-'));
    const conf = join(dir, 'access.conf');
    writeFileSync(conf, `SOURCE ANY\n${keys}\n`);
    const yaml = importFwknopCommand(conf, join(dir, 'k'), { hide: '22,udp/51820' });
    assert.match(yaml, /hide: \[22, "51820\/udp"\]/);
    writeFileSync(join(dir, 'sesame.yaml'), yaml);
    const d = loadConfigFile(join(dir, 'sesame.yaml')).doors[0] as SpaDoor;
    assert.equal(d.spa.openPorts, null);
    assert.equal(d.open.length, 2);
  });
});
