import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../src/config/config-error.js';
import { check } from '../../../src/cli/commands/check.js';
import { parseRedisUrl } from '../../../src/config/fleet-schema.js';
import { parseConfig } from '../../../src/config/load-config.js';

const dir = mkdtempSync(join(tmpdir(), 'sesame-fleet-config-'));
const config = join(dir, 'sesame.yaml');
writeFileSync(join(dir, 'fleet.key'), 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n', { mode: 0o600 });
writeFileSync(join(dir, 'short.key'), 'JBSWY3DPEHPK3PXP\n', { mode: 0o600 });
writeFileSync(join(dir, 'redis.pass'), 's3cret\n', { mode: 0o600 });
writeFileSync(join(dir, 'empty.pass'), '\n', { mode: 0o600 });

const DOOR = 'doors:\n  web:\n    knock: [6000, 7000]\n    open: [80]\n';
const load = (yaml: string) => parseConfig(yaml, config);
const problems = (yaml: string) => {
  try {
    load(yaml);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  assert.fail('expected a ConfigError');
};

describe('fleet config', () => {
  test('no fleet: the node works alone, as before', () => {
    assert.equal(load(DOOR).fleet, undefined);
  });

  test('a full fleet section, with paths relative to the config file', () => {
    const plan = load(
      `fleet:\n  redis: redis://198.18.0.50:6379/2\n  name: bastions\n  node: a\n  password_file: redis.pass\n  key: fleet.key\n  replay: shared-only\n${DOOR}`,
    );
    assert.deepEqual(plan.fleet, {
      redis: { host: '198.18.0.50', port: 6379, db: 2, tls: false },
      cluster: 'bastions',
      node: 'a',
      passwordFile: join(dir, 'redis.pass'),
      keyFile: join(dir, 'fleet.key'),
      replay: 'shared-only',
      streamLength: 10_000,
      maxClockOffsetMs: 30_000,
    });
    assert.equal(plan.doors[0].fleet, undefined);
  });

  test('stream_length and clock_offset_max are read, and checked with their line', () => {
    const fleet = (extra: string) =>
      `fleet:\n  redis: redis://198.18.0.50:6379/2\n  name: bastions\n  node: a\n  key: fleet.key\n${extra}${DOOR}`;
    const plan = load(fleet('  stream_length: 500\n  clock_offset_max: 5s\n'));
    assert.equal(plan.fleet?.streamLength, 500);
    assert.equal(plan.fleet?.maxClockOffsetMs, 5000);
    assert.match(problems(fleet('  stream_length: 3\n')), /:6:.*fleet\.stream_length.*at least 10/);
    assert.match(problems(fleet('  clock_offset_max: soon\n')), /:6:.*fleet\.clock_offset_max.*bad duration/);
  });

  test('defaults: replay shared, node named after the host', () => {
    const plan = load(`fleet: { redis: "redis://[fd00:5e5a::50]", name: c1, key: fleet.key }\n${DOOR}`);
    assert.equal(plan.fleet?.replay, 'shared');
    assert.deepEqual(plan.fleet?.redis, { host: 'fd00:5e5a::50', port: 6379, db: 0, tls: false });
    assert.ok(plan.fleet?.node);
  });

  test('fleet: false keeps a door local; fleet: true is the default', () => {
    const plan = load(
      `fleet: { redis: redis://r:6379, name: c1, key: fleet.key }\n${DOOR}    fleet: false\n  ssh:\n    hits: 22\n    fleet: true\n`,
    );
    assert.equal(plan.doors.find((d) => d.name === 'web')?.fleet, false);
    assert.notEqual(plan.doors.find((d) => d.name === 'ssh')?.fleet, false);
    assert.match(problems(`${DOOR}    fleet: no-thanks\n`), /sesame\.yaml:5:12 doors\.web\.fleet: .*expected boolean/);
  });

  test('errors name file, line and field', () => {
    const at = (yaml: string) => problems(`${yaml}\n${DOOR}`);
    assert.match(
      at('fleet:\n  redis: http://r:80\n  name: c1\n  key: fleet.key'),
      /sesame\.yaml:2:10 fleet\.redis: .*not redis: or rediss:/,
    );
    assert.match(
      at('fleet:\n  redis: redis://u:pw@r:6379\n  name: c1\n  key: fleet.key'),
      /fleet\.redis: no credentials in the URL/,
    );
    assert.match(at('fleet:\n  redis: redis://r/x\n  name: c1\n  key: fleet.key'), /fleet\.redis: .*database number/);
    assert.match(
      at('fleet:\n  redis: redis://r\n  name: "a*b"\n  key: fleet.key'),
      /sesame\.yaml:3:9 fleet\.name: expected a cluster name/,
    );
    assert.match(
      at('fleet:\n  redis: redis://r\n  name: c1\n  key: missing.key'),
      /sesame\.yaml:4:8 fleet\.key: .*missing\.key: file not found/,
    );
    assert.match(
      at('fleet:\n  redis: redis://r\n  name: c1\n  key: short.key'),
      /fleet\.key: .*at least 128 are needed/,
    );
    assert.match(
      at('fleet:\n  redis: redis://r\n  name: c1\n  key: fleet.key\n  password_file: empty.pass'),
      /fleet\.password_file: .*empty/,
    );
    assert.match(at('fleet:\n  redis: redis://r\n  name: c1\n  key: fleet.key\n  replay: sometimes'), /fleet\.replay/);
    assert.match(
      at('fleet:\n  redis: redis://r\n  name: c1\n  key: fleet.key\n  nodes: 3'),
      /sesame\.yaml:5:3 fleet\.nodes: unknown key "nodes"/,
    );
    assert.match(
      at('fleet:\n  redis: redis://r\n  key: fleet.key'),
      /sesame\.yaml:\d+:\d+ fleet\.name: missing required field/,
    );
    assert.match(
      at('fleet:\n  redis: redis://r\n  name: c1\n  key: fleet.key\n  tls: { ca: fleet.key }'),
      /use rediss:/,
    );
    assert.match(at('fleet: 5'), /fleet: /);
  });

  test('redis URLs', () => {
    assert.deepEqual(parseRedisUrl('rediss://redis.example.org:6380/1'), {
      host: 'redis.example.org',
      port: 6380,
      db: 1,
      tls: true,
    });
    for (const bad of ['', 'redis://', 'redis://r:99999', 'unix:///tmp/r.sock', 'redis://r/0?x=1', 7])
      assert.equal(typeof parseRedisUrl(bad), 'string', String(bad));
  });

  test('sesame check warns about a fleet Redis without password or TLS, and not when it has both', async () => {
    const file = join(dir, 'weak.yaml');
    const notes: string[] = [];
    writeFileSync(file, `fleet:\n  redis: redis://198.18.0.50:6379/0\n  name: c\n  node: a\n  key: fleet.key\n${DOOR}`);
    await check(file, { kernel: false, note: (t) => notes.push(t) });
    assert.equal(notes.length, 2, notes.join('\n'));
    assert.match(notes[0], /^sesame: warning: fleet: redis 198\.18\.0\.50:6379 is used without a password/);
    assert.match(notes[1], /without TLS.*rediss:\/\//);
    const strong = join(dir, 'strong.yaml');
    writeFileSync(
      strong,
      `fleet:\n  redis: rediss://198.18.0.50:6380/0\n  name: c\n  node: a\n  key: fleet.key\n  password_file: redis.pass\n${DOOR}`,
    );
    const none: string[] = [];
    await check(strong, { kernel: false, note: (t) => none.push(t) });
    assert.deepEqual(none, []);
  });
});
