import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import type { SpaDoor } from '../../../src/core/door.js';
import type { User, UsersPlan } from '../../../src/core/users.js';
import { signersFromUsers } from '../../../src/sources/spa/signers.js';

const sshLine = () => {
  const raw = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
  const t = Buffer.from('ssh-ed25519');
  return `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, t.length]), t, Buffer.from([0, 0, 0, 32]), raw]).toString('base64')} x`;
};
const user = (name: string, over: Partial<User> = {}): User => ({
  name,
  groups: [],
  revoked: false,
  spaKeys: [],
  sshKeys: [],
  source: { file: 'users.yaml', line: 1 },
  ...over,
});

test('signers: listed ssh keys and authorized_keys lines count; revoked users and unreadable files give nothing', () => {
  const [a, b, c] = [sshLine(), sshLine(), sshLine()];
  const plan: UsersPlan = {
    path: 'users.yaml',
    users: [
      user('alice', { sshKeys: [a], authorizedKeys: '/ak/alice', groups: ['admins'] }),
      user('bob', { authorizedKeys: '/ak/missing' }),
      user('carol', { revoked: true, sshKeys: [c] }),
    ],
  };
  const warnings: string[] = [];
  const s = signersFromUsers(
    plan,
    (level, event) => void (level === 'warn' && warnings.push(event)),
    (f) => {
      if (f === '/ak/alice') return `# comment\n\nfrom="10.0.0.0/8" ${b}\nssh-dss AAAA broken\n`;
      throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    },
  );
  assert.equal(s.keys('alice')?.ssh.size, 2);
  assert.equal(s.keys('bob')?.ssh.size, 0, 'an unreadable authorized_keys counts for nothing');
  assert.deepEqual(warnings, ['authorized-keys-unreadable']);
  assert.equal(s.keys('carol'), undefined);
  assert.equal(s.keys('nobody'), undefined);
  const door = { name: 'ssh', users: ['@admins'] } as unknown as SpaDoor;
  assert.equal(s.mayUse(door, 'alice'), true);
  assert.equal(s.mayUse(door, 'bob'), false);
});
