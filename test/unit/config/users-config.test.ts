import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../src/config/config-error.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { loadUsers } from '../../../src/config/users-file.js';
import { unknownUserRefs, UserDirectory } from '../../../src/core/users.js';

const dir = mkdtempSync(join(tmpdir(), 'sesame-users-config-'));
const secret = (name: string, mode = 0o600) => {
  const f = join(dir, name);
  writeFileSync(f, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n', { mode });
  chmodSync(f, mode);
  return f;
};
secret('alice.totp');
secret('alice.hmac');
secret('bob.totp');
secret('open.totp', 0o644);
const spaKey = () =>
  generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('base64');
const sshKey = (() => {
  const raw = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
  const type = Buffer.from('ssh-ed25519');
  const blob = Buffer.concat([Buffer.from([0, 0, 0, type.length]), type, Buffer.from([0, 0, 0, 32]), raw]);
  return `ssh-ed25519 ${blob.toString('base64')} alice@laptop`;
})();
writeFileSync(join(dir, 'authorized_keys'), `${sshKey}\n`);

const write = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text, { mode: 0o600 });
  return f;
};

const GOOD = `# the team
users:
  alice:
    groups: [admins]
    totp_secret_file: alice.totp          # relative: from this file's folder
    hmac_key_file: ${join(dir, 'alice.hmac')}
    spa_keys: ["${spaKey()}"]
    ssh_keys: ["${sshKey}"]
    authorized_keys: authorized_keys
    oidc: {issuer: https://id.example.org, subject: "248289761001"}
  bob:
    totp_secret_file: bob.totp
    oidc: {email: bob@example.org}
  carol:
    groups: [admins]
    revoked: true
`;

const problems = (text: string, file = 'users.yaml') => {
  try {
    loadUsers(write(file, text));
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message.split('\n');
  }
  assert.fail('expected a ConfigError');
};

describe('users file', () => {
  test('every credential kind loads, relative paths from the file, keys read and decoded', () => {
    const plan = loadUsers(write('good.yaml', GOOD));
    const [alice, bob, carol] = plan.users;
    assert.equal(alice.name, 'alice');
    assert.deepEqual(alice.groups, ['admins']);
    assert.equal(alice.totp?.file, join(dir, 'alice.totp'));
    assert.equal(alice.totp?.key.length, 20);
    assert.equal(alice.hmac?.key.length, 20);
    assert.equal(alice.spaKeys[0].length, 32);
    assert.equal(alice.sshKeys[0], sshKey);
    assert.equal(alice.authorizedKeys, join(dir, 'authorized_keys'));
    assert.deepEqual(alice.oidc, { issuer: 'https://id.example.org', subject: '248289761001' });
    assert.deepEqual(alice.source, { file: join(dir, 'good.yaml'), line: 3 });
    assert.deepEqual(bob.oidc, { email: 'bob@example.org' });
    assert.equal(bob.revoked, false);
    assert.equal(carol.revoked, true);
  });

  test('each bad credential is refused at its file:line with its field', () => {
    const lines = problems(
      `users:\n  alice:\n    totp_secret_file: nope.totp\n    spa_keys: [AAAA]\n    ssh_keys: ["ssh-ed25519 AAAAC3NzaC1yc2EAAAADAQAB x"]\n  bob:\n    hmac_key_file: open.totp\n  erin:\n    oidc: {subject: "1"}\n  "9bad": {}\n  dave:\n    color: red\n`,
      'bad.yaml',
    );
    const text = lines.join('\n');
    assert.match(text, /bad\.yaml:3:\d+ users\.alice\.totp_secret_file: .*nope\.totp: file not found/);
    assert.match(text, /bad\.yaml:4:\d+ users\.alice\.spa_keys\[0\]: expected a base64 ed25519 public key/);
    assert.match(text, /bad\.yaml:5:\d+ users\.alice\.ssh_keys\[0\]: the key data of "ssh-ed25519" is damaged/);
    assert.match(text, /bad\.yaml:7:\d+ users\.bob\.hmac_key_file: .*readable by group or others \(mode 0644\)/);
    assert.match(text, /bad\.yaml:9:\d+ users\.erin\.oidc\.issuer: a `subject` is only unique with its `issuer`/);
    assert.match(text, /bad\.yaml:10:3 users\.9bad: user names are/);
    assert.match(text, /bad\.yaml:12:\d+ users\.dave\.color: unknown key "color"/);
  });

  test('a users.d folder: every YAML file in name order; a user in two files is refused at the second', () => {
    const d = join(dir, 'users.d');
    mkdirSync(d, { mode: 0o700 });
    writeFileSync(join(d, '10-admins.yaml'), `users:\n  alice:\n    totp_secret_file: ../alice.totp\n`);
    writeFileSync(join(d, '20-devs.yaml'), `users:\n  bob: {groups: [devs]}\n`);
    writeFileSync(join(d, 'README'), 'not yaml');
    assert.deepEqual(
      loadUsers(d).users.map((u) => u.name),
      ['alice', 'bob'],
    );
    writeFileSync(join(d, '30-again.yaml'), `# again\nusers:\n  alice: {}\n`);
    assert.throws(() => loadUsers(d), /30-again\.yaml:3:3 users\.alice: user "alice" is also in .*10-admins\.yaml:2/);
  });

  test('a users file others may write is refused (they could add themselves)', () => {
    const f = write('open.yaml', 'users: {}\n');
    chmodSync(f, 0o666);
    assert.throws(() => loadUsers(f), /open\.yaml is writable by group or others .*chmod go-w/);
  });
});

describe('doors with users', () => {
  const users = write('users.yaml', GOOD);
  const endpoint = 'http: {listen: 8443}\n';

  test('a door names users and @groups; its knocks need no shared secret; the directory resolves members', () => {
    const plan = parseConfig(
      `${endpoint}users: users.yaml\ndoors:\n  ssh:\n    http: {token: [totp, hmac]}\n    users: [bob, "@admins"]\n    open: [22]\n`,
      join(dir, 'sesame.yaml'),
    );
    assert.equal(plan.users?.path, users);
    const door = plan.doors[0];
    assert.deepEqual(door.users, ['bob', '@admins']);
    const dir2 = new UserDirectory(plan.users);
    // carol is an admin but revoked: not a member, and nothing of hers is accepted
    assert.deepEqual(
      dir2.members(door.users).map((u) => u.name),
      ['alice', 'bob'],
    );
    assert.equal(dir2.mayUse(door.users, 'alice'), true);
    assert.equal(dir2.mayUse(door.users, 'carol'), false);
    assert.equal(dir2.revoked('carol'), true);
    assert.equal(dir2.revoked('mallory'), true, 'a name the file lacks is as good as revoked');
  });

  test('a door with its own secret and no users loads as before, reading no users file', () => {
    const plan = parseConfig(
      `${endpoint}doors:\n  ssh:\n    http: {secret: alice.totp}\n    open: [22]\n`,
      join(dir, 'sesame.yaml'),
    );
    assert.equal(plan.users, undefined);
    assert.equal('users' in plan.doors[0], false);
  });

  test('a token door needs a secret or users; users only on doors whose knock names a user', () => {
    const refused = (yaml: string) => {
      try {
        parseConfig(yaml, join(dir, 'sesame.yaml'));
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.message;
      }
      assert.fail('expected a ConfigError');
    };
    assert.match(
      refused(`${endpoint}doors:\n  ssh:\n    http: {token: totp}\n    open: [22]\n`),
      /sesame\.yaml:4:\d+ doors\.ssh\.http\.secret: a token door needs `secret`.*or `users:`/,
    );
    assert.match(
      refused(`users: users.yaml\ndoors:\n  k:\n    knock: [7000, 8000]\n    users: [alice]\n    open: [22]\n`),
      /sesame\.yaml:5:\d+ doors\.k\.users: a sequence door's knock names no user/,
    );
    assert.match(
      refused(`${endpoint}users: missing.yaml\ndoors:\n  ssh:\n    http: {}\n    users: [alice]\n    open: [22]\n`),
      /sesame\.yaml:2:8 users: users file .*missing\.yaml not found/,
    );
    assert.match(
      refused(`${endpoint}users: users.yaml\ndoors:\n  ssh:\n    http: {}\n    users: ["al ice"]\n    open: [22]\n`),
      /doors\.ssh\.users\[0\]: expected a user name or @group/,
    );
  });

  test('a problem in the users file fails the config load at the users file line', () => {
    const bad = write('broken.yaml', 'users:\n  alice:\n    totp_secret_file: gone.totp\n');
    assert.throws(
      () =>
        parseConfig(
          `${endpoint}users: ${bad}\ndoors:\n  ssh:\n    http: {}\n    users: [alice]\n    open: [22]\n`,
          join(dir, 'sesame.yaml'),
        ),
      /broken\.yaml:3:\d+ users\.alice\.totp_secret_file: .*gone\.totp: file not found/,
    );
  });

  test('names that match nobody are warnings, not errors: removing a user must reload', () => {
    const plan = parseConfig(
      `${endpoint}users: users.yaml\ndoors:\n  ssh:\n    http: {}\n    users: [alice, zed, "@ops"]\n    open: [22]\n`,
      join(dir, 'sesame.yaml'),
    );
    assert.deepEqual(unknownUserRefs(plan.doors, plan.users), [
      `door "ssh" names user "zed", who is not in ${users}`,
      'door "ssh" names group ops, which no user is in',
    ]);
  });
});
