import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CliError } from '../../../src/cli/cli-error.js';
import { status } from '../../../src/cli/commands/status.js';
import type { Exec } from '../../../src/firewall/exec.js';
import { Nftables } from '../../../src/firewall/nftables.js';

/** The nftables backend over a fake nft that answers every call with this. */
const nft = (code: number, stdout: string, stderr = ''): Nftables =>
  new Nftables(async () => ({ code, stdout, stderr }));

const TABLE_JSON = JSON.stringify({
  nftables: [
    { metainfo: { version: '1.0.6' } },
    {
      set: {
        name: 'web_open_4',
        family: 'inet',
        table: 'sesame',
        timeout: 59,
        elem: [{ elem: { val: '198.18.0.10', expires: 42, timeout: 59 } }],
      },
    },
    { set: { name: 'web_open_6', family: 'inet', table: 'sesame' } },
  ],
});

describe('sesame status', () => {
  test('lists doors and grants from one listing', async () => {
    const out = await status({ json: false }, nft(0, TABLE_JSON));
    assert.match(out, /^doors: web$/m);
    assert.match(out, /web\s+198\.18\.0\.10\s+42s left/);
  });

  test('an absent table is "no doors loaded" (exit 0)', async () => {
    const out = await status({ json: false }, nft(1, '', 'Error: No such file or directory\nlist table inet sesame\n'));
    assert.match(out, /no doors loaded/);
  });

  test('regression: as non-root it says why and fails, instead of "table absent, exit 0"', async () => {
    await assert.rejects(
      status({ json: true }, nft(1, '', 'Error: Operation not permitted (you must be root)\n')),
      (err: Error) =>
        err instanceof CliError &&
        err.code === 'E_STATUS' &&
        err.exitCode === 1 &&
        /Operation not permitted/.test(err.message) &&
        /needs root/.test(err.message),
    );
  });

  test('nft missing or crashing is a failure too', async () => {
    const missing: Exec = async () => {
      throw Object.assign(new Error('spawn nft ENOENT'), { code: 'ENOENT' });
    };
    await assert.rejects(status({ json: false }, new Nftables(missing)), /cannot run nft \(is nftables installed\?\)/);
    await assert.rejects(status({ json: false }, nft(139, '', '')), /failed \(exit 139\): no error output/);
  });
});
