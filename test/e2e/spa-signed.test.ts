import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { newEd25519Pair, parseEd25519Private } from '../../src/core/spa/ed25519-keys.js';
import { signEd25519Packet, signSshPacket, sshSigBy } from '../../src/core/spa/signed-sign.js';
import { parseSshKeyLine, type SshPublicKey } from '../../src/core/ssh/ssh-public-key.js';
import { createLab, type Host, type Lab } from '../../src/lab/netns.js';
import { connectFrom, SESAME_BIN, sesame, startDaemon } from '../../src/lab/processes.js';
import { type LabSshd, startSshd } from '../../src/lab/sshd.js';
import { e2eSkip, eventually, tempDir } from './support.js';

/**
 * sesame's signed SPA packets end to end: the server holds public keys only (users file), the
 * client signs with an ed25519 key file or an ssh key in a real ssh-agent, and a real ssh logs
 * in through `ProxyCommand sesame knock --ssh --proxy %h %p`.
 */

const skip = e2eSkip({ socat: 'socat', sshd: 'openssh-server', ssh: 'openssh-client' });

describe('signed SPA: public keys on the server, ed25519 and ssh keys on the client', { skip }, () => {
  let lab: Lab;
  let sshd: LabSshd;
  let dir: string;
  let state: string;
  let daemon: ChildProcess & { output: () => string };
  let agent: ChildProcess | undefined;
  const alice = newEd25519Pair();
  let aliceKeyFile: string;
  let bobKey: SshPublicKey;
  let bobAuthorized: string;
  let agentSock: string;
  const c0 = (): Host => lab.clients[0];
  const c1 = (): Host => lab.clients[1];
  const port22 = (client: Host, ms = 900) => connectFrom(lab, client, lab.server.v4, 22, ms);
  const refusals = (reason: string) =>
    daemon
      .output()
      .split('\n')
      .filter((l) => l.includes('"event":"spa-refused"') && l.includes(`"reason":"${reason}"`)).length;
  const refusedAgain = async (reason: string, before: number) => {
    const n = await eventually(() => (refusals(reason) > before ? refusals(reason) : 0), 8000);
    assert.ok(n, `no spa-refused reason=${reason}; output:\n${daemon.output().slice(-3000)}`);
  };
  const flush = async () => {
    for (const f of [4, 6]) await lab.run(lab.server, 'nft', ['flush', 'set', 'inet', 'sesame', `ssh_open_${f}`]);
  };
  const serve = async () => {
    daemon = await startDaemon(lab, lab.server, [
      '-c',
      join(dir, 'sesame.yaml'),
      '--state-dir',
      state,
      '--log-format',
      'json',
    ]);
    await eventually(() => daemon.output().includes('"spa-listening"'), 8000);
  };
  const sendUdp = async (client: Host, packet: Buffer) => {
    const file = join(dir, `packet-${Date.now()}-${Math.random()}`);
    writeFileSync(file, packet);
    const r = await lab.run(client, 'socat', ['-u', `OPEN:${file}`, `UDP-SENDTO:${lab.server.v4}:62201`]);
    assert.equal(r.code, 0, r.stderr);
  };

  before(async () => {
    lab = createLab({ clients: 2 });
    dir = tempDir('sesame-signed-');
    state = join(dir, 'state');
    try {
      sshd = await startSshd(lab, lab.server);
      aliceKeyFile = join(dir, 'alice.pem');
      writeFileSync(aliceKeyFile, alice.privatePem, { mode: 0o600 });
      // bob's key is the one sshd lets in; his authorized_keys lists it
      bobKey = parseSshKeyLine(readFileSync(join(sshd.dir, 'client_key.pub'), 'utf8')) as SshPublicKey;
      bobAuthorized = join(dir, 'bob_authorized_keys');
      writeFileSync(bobAuthorized, `# bob\n${readFileSync(join(sshd.dir, 'client_key.pub'), 'utf8')}`);
      writeFileSync(
        join(dir, 'users.yaml'),
        [
          'users:',
          '  alice:',
          `    spa_keys: ["${alice.publicText}"]`,
          '  bob:',
          '    groups: [admins]',
          `    authorized_keys: ${bobAuthorized}`,
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      writeFileSync(
        join(dir, 'sesame.yaml'),
        [
          'users: users.yaml',
          'spa: { udp: 62201 }',
          'doors:',
          '  ssh:',
          '    spa: { max_age: 60s }',
          '    users: [alice, "@admins"]',
          '    open: [22]',
          '    for: 30s',
          '',
        ].join('\n'),
      );
      agentSock = join(dir, 'agent.sock');
      agent = spawn('ssh-agent', ['-D', '-a', agentSock], { stdio: 'ignore' });
      await eventually(() => existsSync(agentSock), 5000);
      execFileSync('ssh-add', ['-q', join(sshd.dir, 'client_key')], {
        env: { ...process.env, SSH_AUTH_SOCK: agentSock },
        stdio: 'ignore',
      });
      await serve();
    } catch (err) {
      agent?.kill();
      sshd?.stop();
      lab.destroy();
      throw err;
    }
  });

  after(() => {
    agent?.kill();
    sshd?.stop();
    lab?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('sesame knock --spa --key opens tcp/22 for the knocker only; closed before', async () => {
    await flush();
    assert.equal((await port22(c0())).result, 'timeout', 'port 22 is hidden before the packet');
    const r = await sesame(lab, c0(), [
      'knock',
      '--spa',
      '--key',
      aliceKeyFile,
      '--user',
      'alice',
      lab.server.v4,
      '-A',
      'tcp/22',
      '-v',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /signed with ed25519, granted/);
    assert.equal((await port22(c0())).result, 'open');
    assert.equal((await port22(c1())).result, 'timeout', 'another address stays shut out');
    assert.match(daemon.output(), /"event":"spa-accepted".*"user":"alice"/);
  });

  test("a copy of the server's whole config and state dir makes no packet that opens", async () => {
    await flush();
    const stolen = tempDir('sesame-stolen-');
    try {
      cpSync(dir, stolen, { recursive: true, filter: (f) => !f.endsWith('.pem') && !f.endsWith('.sock') });
      const files = walk(stolen);
      assert.ok(files.some((f) => f.endsWith('users.yaml')) && files.some((f) => f.includes('replay-spa')));
      const before = refusals('bad-signature');
      let tries = 0;
      // every file tried as a private key, and every key found in them claimed with a fresh one
      for (const f of files) {
        const text = readFileSync(f, 'latin1');
        assert.ok(!text.includes(alice.privatePem.split('\n')[1]), `${f} holds alice's private key`);
        if (typeof parseEd25519Private(text) !== 'string') assert.fail(`${f} is a private key`);
      }
      const forger = generateKeyPairSync('ed25519').privateKey;
      for (const user of ['alice', 'bob']) {
        await sendUdp(c1(), signEd25519Packet(req(user, c1().v4), forger));
        tries++;
      }
      // bob's listed ssh key, claimed in the SSHSIG, signed by another key
      const other = generateKeyPairSync('ed25519').privateKey;
      const { sign } = await import('node:crypto');
      await sendUdp(
        c1(),
        await signSshPacket(
          req('bob', c1().v4),
          sshSigBy(bobKey.blob, async (data) => sshSigBlob(sign(null, data, other))),
        ),
      );
      tries++;
      await eventually(() => refusals('bad-signature') >= before + tries, 8000);
      assert.equal((await port22(c1())).result, 'timeout', 'nothing opened');
      // positive control: alice's own key from the same client
      await sendUdp(c1(), signEd25519Packet(req('alice', c1().v4), createPrivateKey(alice.privatePem)));
      assert.equal(await eventually(async () => ((await port22(c1())).result === 'open' ? 'open' : ''), 5000), 'open');
    } finally {
      rmSync(stolen, { recursive: true, force: true });
    }
  });

  test('a packet opens once: its replay is refused, also after kill -9 of the daemon', async () => {
    await flush();
    const packet = signEd25519Packet(req('alice', c0().v4), createPrivateKey(alice.privatePem));
    await sendUdp(c0(), packet);
    assert.equal(await eventually(async () => ((await port22(c0())).result === 'open' ? 'open' : ''), 5000), 'open');
    await flush();
    const before = refusals('replayed');
    await sendUdp(c0(), packet);
    await refusedAgain('replayed', before);
    assert.equal((await port22(c0())).result, 'timeout');
    daemon.kill('SIGKILL');
    await new Promise((r) => daemon.once('exit', r));
    await serve();
    await sendUdp(c0(), packet);
    await refusedAgain('replayed', 0);
    assert.equal((await port22(c0())).result, 'timeout', 'the replay after kill -9 opened nothing');
    // positive control: a fresh packet of the same key still opens
    await sendUdp(c0(), signEd25519Packet(req('alice', c0().v4), createPrivateKey(alice.privatePem)));
    assert.equal(await eventually(async () => ((await port22(c0())).result === 'open' ? 'open' : ''), 5000), 'open');
  });

  test('real ssh with ProxyCommand sesame knock --ssh --proxy %h %p and ssh-agent logs in; closed before', async () => {
    await flush();
    const before = await sshd.ssh(c0(), { connectTimeoutS: 3, options: ['ConnectionAttempts=1'] });
    assert.equal(before.ok, false, 'ssh gets in without a knock');
    const r = await sshVia(c0(), agentSock);
    assert.ok(r.ok, `${r.stderr}\n${daemon.output().slice(-2000)}`);
    assert.match(daemon.output(), new RegExp(`"user":"bob","key":"${bobKey.fingerprint.replace(/[+/]/g, '.')}"`));
  });

  test("a key not among the user's keys is refused", async () => {
    await flush();
    const sock = join(dir, 'stranger.sock');
    const stranger = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      await eventually(() => existsSync(sock), 5000);
      const key = join(dir, 'stranger_key');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
      execFileSync('ssh-add', ['-q', key], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      const n = refusals('bad-signature');
      const r = await knockSsh(c0(), sock);
      assert.match(r.stdout, /no answer/);
      await refusedAgain('bad-signature', n);
      assert.equal((await port22(c0())).result, 'timeout');
      // positive control: bob's agent opens
      assert.match((await knockSsh(c0(), agentSock)).stdout, /granted/);
      assert.equal((await port22(c0())).result, 'open');
    } finally {
      stranger.kill();
    }
  });

  test('the key removed from authorized_keys, then a reload (SIGHUP): refused', async () => {
    await flush();
    writeFileSync(bobAuthorized, '# bob left\n');
    const reloads = (daemon.output().match(/"event":"reloaded"/g) ?? []).length;
    daemon.kill('SIGHUP');
    await eventually(() => (daemon.output().match(/"event":"reloaded"/g) ?? []).length > reloads, 8000);
    const n = refusals('bad-signature');
    assert.match((await knockSsh(c0(), agentSock)).stdout, /no answer/);
    await refusedAgain('bad-signature', n);
    assert.equal((await port22(c0())).result, 'timeout');
    const r = await sshVia(c0(), agentSock, 4);
    assert.equal(r.ok, false, 'ssh got in with a removed key');
  });

  function req(user: string, address: string) {
    return { user, door: 'ssh', address, lifetimeS: 0, ports: [{ proto: 'tcp' as const, port: 22 }] };
  }

  function knockSsh(client: Host, sock: string) {
    return lab.run(client, 'env', [
      `SSH_AUTH_SOCK=${sock}`,
      process.execPath,
      SESAME_BIN,
      'knock',
      '--ssh',
      '--user',
      'bob',
      lab.server.v4,
      '-A',
      'tcp/22',
      '-v',
    ]);
  }

  async function sshVia(client: Host, sock: string, connectTimeoutS = 10) {
    const r = await lab.run(
      client,
      'env',
      [
        `SSH_AUTH_SOCK=${sock}`,
        'ssh',
        '-o',
        'IdentitiesOnly=no',
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'LogLevel=ERROR',
        '-o',
        `ConnectTimeout=${connectTimeoutS}`,
        '-o',
        `ProxyCommand=${process.execPath} ${SESAME_BIN} knock --ssh --user bob --proxy %h %p`,
        `root@${lab.server.v4}`,
        'echo sesame-ok',
      ],
      { timeoutMs: connectTimeoutS * 1000 + 15_000 },
    );
    return { ...r, ok: r.code === 0 && r.stdout.includes('sesame-ok') };
  }
});

function walk(d: string): string[] {
  return readdirSync(d).flatMap((n) => {
    const p = join(d, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** An ssh-ed25519 signature blob around raw signature bytes. */
function sshSigBlob(sig: Buffer): Buffer {
  const alg = Buffer.from('ssh-ed25519');
  const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  return Buffer.concat([u32(alg.length), alg, u32(sig.length), sig]);
}
