import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeTokenKnock } from '../../src/core/shared-secret.js';
import { base32Encode } from '../../src/core/totp.js';
import { createLab, type Host, type Lab } from '../../src/lab/netns.js';
import { startDaemon, startEchoServer, waitForLine } from '../../src/lab/processes.js';
import { e2eSkip, eventually, tempDir } from './support.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const CONFIG = (keyFile: string) => `doors:
  tok443:
    shared: { port: 443, secret: ${keyFile}, secret_kind: token, redirect_to: 22 }
    for: 30s
`;

/**
 * Regression (issue 14 item 7): shared-port tokens were remembered in memory only, so a token
 * seen on the wire could be replayed right after a SIGHUP or a restart and was accepted.
 */
describe('a shared-port token replayed after SIGHUP or a restart', { skip: e2eSkip() }, () => {
  let lab: Lab;
  let dir: string;
  let config: string;
  let daemon: ChildProcess & { output: () => string };
  let services: ChildProcess;
  before(async () => {
    lab = createLab({ clients: 2, name: 'rpl' });
    dir = tempDir('sesame-replay-e2e-');
    writeFileSync(join(dir, 'token.key'), `${base32Encode(KEY)}\n`, { mode: 0o600 });
    config = join(dir, 'sesame.yaml');
    writeFileSync(config, CONFIG(join(dir, 'token.key')));
    // 443 is "the site", 22 is "sshd": each answers a line with its port
    services = await startEchoServer(lab, lab.server, [443, 22]);
    daemon = await startDaemon(lab, lab.server, ['-c', config, '--state-dir', dir, '--log-format', 'json']);
  });
  after(() => {
    daemon?.kill('SIGKILL');
    services?.kill();
    lab?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  /** One connection to 443: the token as first bytes (reset by the kernel), or a line (answered by 443 or 22). */
  async function send(client: Host, data: Buffer): Promise<string> {
    const script = `
      const s = require('net').connect({ host: ${JSON.stringify(lab.server.v4)}, port: 443 });
      s.on('connect', () => s.write(Buffer.from(${JSON.stringify(data.toString('base64'))}, 'base64')));
      s.on('data', (d) => { console.log(String(d).trim()); process.exit(0); });
      s.on('error', (e) => { console.log(e.code); process.exit(0); });
      setTimeout(() => { console.log('silent'); process.exit(0); }, 2000);`;
    return (await lab.run(client, process.execPath, ['-e', script], { timeoutMs: 5000 })).stdout.trim();
  }
  /** Where `client`'s next connection to 443 lands: "443" (the site) or "22" (redirected). */
  const lands = async (client: Host) => (await send(client, Buffer.from('hi\n'))).split(':')[0];
  const refusals = () => (daemon.output().match(/token-refused.*replayed token/g) ?? []).length;

  test('a fresh token redirects; the same token after SIGHUP, and after kill -9 and a restart, does not', async () => {
    const [alice, bob] = lab.clients;
    const token = encodeTokenKnock(KEY, 'tok443', Date.now());

    // the positive control: the token opens once
    assert.equal(await lands(alice), '443', 'before any knock the site answers');
    assert.equal(await send(alice, token), 'ECONNRESET', 'the kernel resets a token knock');
    assert.ok(await eventually(async () => (await lands(alice)) === '22'), `the token redirected:\n${daemon.output()}`);

    // SIGHUP rebuilds the sources
    daemon.kill('SIGHUP');
    await waitForLine(daemon, /"event":"reloaded"/);
    assert.equal(await send(bob, token), 'ECONNRESET');
    assert.ok(await eventually(() => refusals() === 1), `refused as replayed after SIGHUP:\n${daemon.output()}`);
    assert.equal(await lands(bob), '443', 'no redirect for the replay after SIGHUP');

    // kill -9, then a new daemon on the same state dir
    daemon.kill('SIGKILL');
    await new Promise((r) => daemon.once('exit', r));
    daemon = await startDaemon(lab, lab.server, ['-c', config, '--state-dir', dir, '--log-format', 'json']);
    assert.equal(await send(bob, token), 'ECONNRESET');
    assert.ok(await eventually(() => refusals() === 1), `refused as replayed after restart:\n${daemon.output()}`);
    assert.equal(await lands(bob), '443', 'no redirect for the replay after a restart');

    // and the restarted daemon does take a fresh token (the refusal above is not a dead source)
    assert.equal(await send(bob, encodeTokenKnock(KEY, 'tok443', Date.now())), 'ECONNRESET');
    assert.ok(
      await eventually(async () => (await lands(bob)) === '22'),
      `a fresh token redirects:\n${daemon.output()}`,
    );
  });
});
