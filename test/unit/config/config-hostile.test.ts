import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, type ConfigProblem } from '../../../src/config/config-error.js';
import { parseConfig } from '../../../src/config/load-config.js';

const dir = mkdtempSync(join(tmpdir(), 'sesame-hostile-config-'));
const KEY = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n';
function secret(name: string, mode: number): string {
  const file = join(dir, name);
  writeFileSync(file, KEY);
  chmodSync(file, mode); // chmod, not writeFileSync's mode: the umask can't hide a bit
  return file;
}
const webDoor = (file: string) =>
  `http:\n  listen: 8443\ndoors:\n  web:\n    http: { secret: ${file} }\n    open: [22]\n`;
const configError = (f: () => unknown): ConfigError => {
  try {
    f();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('expected a ConfigError');
};

describe('secret files that others can read (regression: they loaded with no warning)', () => {
  test('a world-readable secret is refused at file:line with the field and `chmod 600 FILE`', () => {
    const file = secret('world.key', 0o644);
    const err = configError(() => parseConfig(webDoor(file), '/etc/sesame/sesame.yaml'));
    assert.equal(err.problems.length, 1);
    assert.match(
      err.message,
      new RegExp(
        `^/etc/sesame/sesame.yaml:5:\\d+ doors\\.web\\.http\\.secret: ${file} is readable by group or others \\(mode 0644\\); run \`chmod 600 ${file}\``,
      ),
    );
  });

  test('group-readable counts too, and so does a readable TLS key or shared-port secret', () => {
    assert.match(configError(() => parseConfig(webDoor(secret('group.key', 0o640)))).message, /mode 0640/);
    const tlsKey = secret('tls.pem', 0o604);
    const withTls = `http:\n  listen: 8443\n  tls: { cert: ${secret('cert.pem', 0o644)}, key: ${tlsKey} }\ndoors:\n  web:\n    http: { secret: ${secret('ok1.key', 0o600)} }\n    open: [22]\n`;
    const tls = configError(() => parseConfig(withTls));
    assert.equal(tls.problems.length, 1, 'the certificate is public, only the key counts');
    assert.equal(tls.problems[0].field, 'http.tls.key');
    const shared = `doors:\n  s:\n    shared: { port: 443, secret: ${secret('shared.key', 0o644)}, secret_kind: token }\n`;
    assert.equal(configError(() => parseConfig(shared)).problems[0].field, 'doors.s.shared.secret');
  });

  test('a 0600 secret loads (the check is not refusing everything)', () => {
    assert.equal(parseConfig(webDoor(secret('private.key', 0o600))).doors[0].name, 'web');
  });

  test('with readableSecrets: warn (serve --allow-readable-secrets) the config loads and each file is reported', () => {
    const warned: ConfigProblem[] = [];
    const file = secret('warned.key', 0o644);
    const plan = parseConfig(webDoor(file), 'sesame.yaml', { readableSecrets: 'warn', warn: (p) => warned.push(p) });
    assert.equal(plan.doors.length, 1);
    assert.equal(warned.length, 1);
    assert.equal(warned[0].field, 'doors.web.http.secret');
    assert.match(warned[0].message, /chmod 600/);
  });
});

describe('a YAML bomb (regression: refused with a stack trace)', () => {
  const laughs = (levels: number) =>
    [
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      ...Array.from({ length: levels }, (_, i) => {
        const [me, prev] = [String.fromCharCode(98 + i), String.fromCharCode(97 + i)];
        return `${me}: &${me} [${Array(9).fill(`*${prev}`).join(',')}]`;
      }),
      'doors: {}',
    ].join('\n');

  test('billion laughs is a config error at the first alias, not a ReferenceError', () => {
    const err = configError(() => parseConfig(laughs(8), '/etc/sesame/bomb.yaml'));
    assert.match(err.message, /^\/etc\/sesame\/bomb\.yaml:2:\d+: YAML aliases expand too much/);
    assert.doesNotMatch(err.message, /\n\s+at /, 'no stack trace');
  });

  test('an alias or two, as people use them, still load', () => {
    const yaml = `doors:\n  a:\n    knock: [7000, 8000, 9000]\n    open: &ports [22, 2222]\n  b:\n    knock: [7001, 8001, 9001]\n    open: *ports\n`;
    const [, b] = parseConfig(yaml).doors;
    assert.deepEqual(b.open.length, 2);
  });
});
