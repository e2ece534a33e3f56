import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { encodeTokenKnock, tokenPrefix } from '../../src/core/shared-secret.js';
import { base32Encode } from '../../src/core/totp.js';
import { createLab } from '../../src/lab/netns.js';
import { startDaemon, startEchoServer } from '../../src/lab/processes.js';
import { e2eSkip, eventually, tempDir } from './support.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');

/**
 * From one client, opens connections to 443 for `seconds` (at most `max`), each sending the
 * token prefix and garbage as its first data: what someone who saw one token knock can send.
 * Prints how many it sent.
 */
const floodScript = (host: string, prefix: Buffer, seconds: number, max: number) => `
  const net = require('net');
  const payload = Buffer.concat([Buffer.from('${prefix.toString('hex')}', 'hex'), Buffer.from('s1.garbage\\n')]);
  const end = Date.now() + ${seconds * 1000};
  let sent = 0, open = 0;
  function one() {
    if (Date.now() > end || sent >= ${max}) { if (open === 0) { console.log(sent); process.exit(0); } return; }
    open++;
    const s = net.connect({ host: '${host}', port: 443 });
    s.setNoDelay(true);
    s.on('connect', () => { sent++; s.write(payload); });
    s.on('error', () => {});
    s.on('close', () => { open--; one(); });
    setTimeout(() => s.destroy(), 500);
  }
  for (let i = 0; i < 20; i++) one();`;

describe('token shared-port door under a flood of prefixed knocks', { skip: e2eSkip() }, () => {
  test("regression: one address flooding the token prefix can't crowd out another client's token knock", async () => {
    const lab = createLab({ clients: 2, name: 'tokflood' });
    const dir = tempDir();
    try {
      const keyFile = join(dir, 'token.key');
      writeFileSync(keyFile, `${base32Encode(KEY)}\n`, { mode: 0o600 });
      const config = join(dir, 'sesame.yaml');
      writeFileSync(
        config,
        `doors:\n  tok:\n    shared: { port: 443, secret: ${keyFile}, secret_kind: token }\n    for: 30s\n`,
      );
      await startEchoServer(lab, lab.server, [443]);
      const daemon = await startDaemon(lab, lab.server, ['-c', config, '--state-dir', dir, '--log-format', 'json']);
      const [mallory, alice] = lab.clients;

      const flood = lab.run(mallory, process.execPath, ['-e', floodScript(lab.server.v4, tokenPrefix(KEY), 4, 5000)], {
        timeoutMs: 20_000,
      });
      // alice's real token knock, in the middle of the flood: once the daemon has seen it
      const flooding = await eventually(
        () =>
          daemon
            .output()
            .split('\n')
            .some((l) => l.includes('token-refused') && l.includes(mallory.v4)),
        10_000,
        50,
      );
      assert.ok(flooding, `the flood reached the daemon:\n${daemon.output().slice(-2000)}`);
      const token = encodeTokenKnock(KEY, 'tok', Date.now());
      const knock = `const s = require('net').connect({ host: '${lab.server.v4}', port: 443 });
        s.on('connect', () => s.write(Buffer.from('${token.toString('hex')}', 'hex')));
        s.on('error', () => {}); setTimeout(() => process.exit(0), 1000);`;
      await lab.run(alice, process.execPath, ['-e', knock], { timeoutMs: 5000 });
      const sent = Number((await flood).stdout.trim());

      const granted = await eventually(async () => {
        const r = await lab.run(lab.server, 'nft', ['list', 'set', 'inet', 'sesame', 'tok_open_4']);
        return r.stdout.includes(alice.v4);
      }, 5000);
      assert.ok(granted, `alice's token knock was not granted:\n${daemon.output().slice(-2000)}`);
      const logged = daemon
        .output()
        .split('\n')
        .filter((l) => l.includes('token-refused') && l.includes(mallory.v4));
      assert.ok(sent > 100, `the flood sent ${sent} knocks`);
      // 2/s after a burst of 10, over the flood's 4 s (a little slack for timer edges)
      assert.ok(logged.length <= 20, `${logged.length} of mallory's ${sent} knocks reached the daemon`);
      assert.ok(logged.length >= 1, 'the flood was seen at all');
    } finally {
      lab.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
