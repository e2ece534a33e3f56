import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SshAgent } from '../../../src/client/ssh-agent.js';
import { type SignerKeys, SignedSpaGate } from '../../../src/core/spa/signed-admit.js';
import { decodeSignedPacket, encodeSignedRequest } from '../../../src/core/spa/signed-packet.js';
import { signSshPacket, sshSigBy, sshSigPacket } from '../../../src/core/spa/signed-sign.js';
import { parseSshKeyLine, type SshPublicKey } from '../../../src/core/ssh/ssh-public-key.js';
import {
  armorSshSig,
  decodeSshSig,
  encodeSshSig,
  SSHSIG_NAMESPACE,
  unarmorSshSig,
} from '../../../src/core/ssh/sshsig.js';
import { signedDoor } from './signed-fixtures.js';

/**
 * The SSHSIG verifier against OpenSSH itself: keys made by ssh-keygen, signatures by
 * `ssh-keygen -Y sign` and by a real ssh-agent, checked both ways (ours verifies theirs,
 * `ssh-keygen -Y verify` verifies ours).
 */

const NOW = Date.now();
const TYPES = [
  ['ed25519', []],
  ['ecdsa', ['-b', '256']],
  ['ecdsa', ['-b', '384']],
  ['ecdsa', ['-b', '521']],
  ['rsa', ['-b', '2048']],
] as const;

let dir = '';
let agent: ChildProcess | undefined;
const keys: { file: string; pub: SshPublicKey; line: string }[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sesame-sshsig-'));
  TYPES.forEach(([t, extra], i) => {
    const file = join(dir, `key${i}`);
    execFileSync('ssh-keygen', ['-q', '-t', t, ...extra, '-N', '', '-C', `key${i}@test`, '-f', file]);
    const line = readFileSync(`${file}.pub`, 'utf8');
    const pub = parseSshKeyLine(line);
    assert.equal(typeof pub, 'object', String(pub));
    keys.push({ file, pub: pub as SshPublicKey, line });
  });
});

after(() => {
  agent?.kill();
  rmSync(dir, { recursive: true, force: true });
});

function gateFor(user: string, listed: readonly SshPublicKey[]) {
  const k: SignerKeys = { spa: [], ssh: new Map(listed.map((p) => [p.blob.toString('base64'), p])) };
  return new SignedSpaGate([signedDoor('ssh')], { keys: (u) => (u === user ? k : undefined), mayUse: () => true });
}

const signedPart = () =>
  encodeSignedRequest({
    scheme: 'sshsig',
    timestampMs: NOW,
    nonce: Buffer.alloc(16, 3),
    user: 'alice',
    door: 'ssh',
    address: '198.18.0.2',
    lifetimeS: 0,
    ports: [{ proto: 'tcp', port: 22 }],
  });

function keygenSign(file: string, message: Buffer, namespace = SSHSIG_NAMESPACE): Buffer {
  const msg = join(dir, 'msg');
  writeFileSync(msg, message);
  execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-f', file, '-n', namespace, msg], { stdio: 'ignore' });
  const blob = unarmorSshSig(readFileSync(`${msg}.sig`, 'utf8'));
  rmSync(`${msg}.sig`);
  assert.ok(blob);
  return blob;
}

describe('ssh public keys', () => {
  test('every ssh-keygen key type parses, with the fingerprint ssh-keygen -l prints', () => {
    for (const k of keys) {
      const printed = execFileSync('ssh-keygen', ['-l', '-f', `${k.file}.pub`], { encoding: 'utf8' }).split(' ')[1];
      assert.equal(k.pub.fingerprint, printed);
    }
  });

  test('authorized_keys options before the key are skipped, quoted spaces included', () => {
    const k = parseSshKeyLine(`from="198.18.0.0/24",command="echo a b" ${keys[0].line}`);
    assert.ok(typeof k === 'object' && k.fingerprint === keys[0].pub.fingerprint);
  });

  test('short RSA keys, DSA, truncated blobs and lying type names are refused with the reason', () => {
    const f = join(dir, 'short');
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '1024', '-N', '', '-f', f]);
    assert.match(String(parseSshKeyLine(readFileSync(`${f}.pub`, 'utf8'))), /1024 bits; at least 2048/);
    const [, b64] = keys[0].line.split(' ');
    const cut = Buffer.from(b64, 'base64').subarray(0, 30).toString('base64');
    assert.match(String(parseSshKeyLine(`ssh-ed25519 ${cut}`)), /not 32 bytes|not an ssh public key/);
    assert.match(String(parseSshKeyLine(`ssh-rsa ${b64}`)), /says ssh-rsa but its blob holds ssh-ed25519/);
    assert.match(String(parseSshKeyLine('ssh-dss AAAAB3NzaC1kc3MAAAA=')), /not supported|not an ssh/);
    assert.match(String(parseSshKeyLine('hello')), /expected an ssh public key/);
  });
});

describe('SSHSIG knocks', () => {
  test('ssh-keygen -Y sign of the packet opens, for every key type', async () => {
    for (const k of keys) {
      const signed = signedPart();
      const a = await gateFor('alice', [k.pub]).admit(
        sshSigPacket(signed, keygenSign(k.file, signed)),
        '198.18.0.2',
        NOW,
        () => true,
      );
      assert.ok(a.ok, `${k.pub.type}: ${JSON.stringify(a)}`);
      assert.equal(a.key, k.pub.fingerprint);
    }
  });

  test("an SSHSIG blob re-encoded from its fields is OpenSSH's bytes, and ssh-keygen -Y verify takes it", () => {
    const signed = signedPart();
    const blob = keygenSign(keys[0].file, signed);
    const sig = decodeSshSig(blob);
    assert.ok(typeof sig === 'object');
    // re-encoding the decoded blob gives OpenSSH's bytes back
    assert.deepEqual(encodeSshSig(sig), blob);
    writeFileSync(join(dir, 'allowed'), `alice ${keys[0].line}`);
    writeFileSync(join(dir, 'm.sig'), armorSshSig(blob));
    execFileSync(
      'ssh-keygen',
      ['-Y', 'verify', '-f', join(dir, 'allowed'), '-I', 'alice', '-n', SSHSIG_NAMESPACE, '-s', join(dir, 'm.sig')],
      { input: signed, stdio: ['pipe', 'ignore', 'ignore'] },
    );
  });

  test('a signature in another namespace (a git commit, a file) is refused', async () => {
    const signed = signedPart();
    const a = await gateFor('alice', [keys[0].pub]).admit(
      sshSigPacket(signed, keygenSign(keys[0].file, signed, 'file')),
      '198.18.0.2',
      NOW,
      () => true,
    );
    assert.ok(!a.ok && a.reason === 'bad-signature' && /namespace file/.test(a.detail), JSON.stringify(a));
  });

  test("a key not among the user's keys is refused; the same packet opens for the user who has it", async () => {
    const signed = signedPart();
    const packet = sshSigPacket(signed, keygenSign(keys[1].file, signed));
    const refused = await gateFor('alice', [keys[0].pub, keys[4].pub]).admit(packet, '198.18.0.2', NOW, () => true);
    assert.ok(!refused.ok && refused.reason === 'bad-signature' && /does not have/.test(refused.detail));
    assert.ok((await gateFor('alice', [keys[1].pub]).admit(packet, '198.18.0.2', NOW, () => true)).ok);
  });

  test("a signature from one key under another key's blob (a listed key claimed) is refused", async () => {
    const signed = signedPart();
    const theirs = decodeSshSig(keygenSign(keys[2].file, signed));
    assert.ok(typeof theirs === 'object');
    const claimed = encodeSshSig({ ...theirs, publicKey: keys[1].pub.blob });
    const a = await gateFor('alice', [keys[1].pub]).admit(sshSigPacket(signed, claimed), '198.18.0.2', NOW, () => true);
    assert.ok(!a.ok && a.reason === 'bad-signature', JSON.stringify(a));
  });

  test('every truncation of an SSHSIG packet is refused, never thrown', async () => {
    const signed = signedPart();
    const packet = sshSigPacket(signed, keygenSign(keys[4].file, signed));
    const g = gateFor('alice', [keys[4].pub]);
    for (let n = 0; n < packet.length; n += 7)
      assert.equal((await g.admit(packet.subarray(0, n), '198.18.0.2', NOW, () => true)).ok, false);
  });

  test('a real ssh-agent signs the knock (every key type; RSA with rsa-sha2-512) and the packet opens', async () => {
    const sock = join(dir, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
    const env = { ...process.env, SSH_AUTH_SOCK: sock };
    for (const k of keys) execFileSync('ssh-add', ['-q', k.file], { env, stdio: 'ignore' });
    const a = new SshAgent(sock);
    const listed = await a.keys();
    assert.equal(listed.length, keys.length);
    for (const k of keys) {
      const packet = await signSshPacket(
        {
          user: 'alice',
          door: 'ssh',
          address: '198.18.0.2',
          lifetimeS: 0,
          ports: [{ proto: 'tcp', port: 22 }],
          timestampMs: NOW,
        },
        sshSigBy(k.pub.blob, (data) => a.sign(k.pub.blob, data)),
      );
      const r = await gateFor('alice', [k.pub]).admit(packet, '198.18.0.2', NOW, () => true);
      assert.ok(r.ok, `${k.pub.type}: ${JSON.stringify(r)}`);
      // and OpenSSH's verifier accepts the SSHSIG we framed around the agent's signature
      const d = decodeSignedPacket(packet);
      assert.ok(d.ok);
      writeFileSync(join(dir, 'allowed'), `alice ${k.line}`);
      writeFileSync(join(dir, 'a.sig'), armorSshSig(d.packet.signature));
      execFileSync(
        'ssh-keygen',
        ['-Y', 'verify', '-f', join(dir, 'allowed'), '-I', 'alice', '-n', SSHSIG_NAMESPACE, '-s', join(dir, 'a.sig')],
        { input: d.packet.signed, stdio: ['pipe', 'ignore', 'pipe'] },
      );
    }
  });
});
