import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/load-config.js';
import type { LogDoor } from '../../../src/core/door.js';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readFilterFile } from '../../../src/config/fail2ban/filter-file.js';
import { Fail2banFilter } from '../../../src/core/fail2ban/filter.js';
import { grantableAddress } from '../../../src/sources/logwatch/source.js';
import { followStep } from '../../../src/sources/logwatch/follow-step.js';
import { HitCounter } from '../../../src/sources/logwatch/hit-counter.js';
import { LineBuffer } from '../../../src/sources/logwatch/line-buffer.js';

const filterOf = (failregex: string[], ignoreregex: string[] = []) => new Fail2banFilter({ failregex, ignoreregex });
const hostOf = (f: Fail2banFilter, line: string) => {
  const failure = f.processLine(line)[0];
  return failure ? grantableAddress(failure) : null;
};
const ACCESS = (ip: string, path: string) =>
  `${ip} - - [10/Oct/2024:13:55:36 +0000] "GET ${path} HTTP/1.1" 404 153 "-" "curl/8.5.0"`;

describe('failregex on access-log lines', () => {
  const ssh = filterOf(['^<HOST> -.*"GET /ssh']);

  test('<HOST> finds the IPv4 or IPv6 address of a matching line', () => {
    assert.equal(hostOf(ssh, ACCESS('198.18.0.10', '/ssh')), '198.18.0.10');
    assert.equal(hostOf(ssh, ACCESS('fd00:5e5a::a', '/ssh')), 'fd00:5e5a::a');
    assert.equal(hostOf(ssh, ACCESS('::ffff:198.18.0.10', '/ssh')), '198.18.0.10');
  });

  test('another path, a host name or a non-address grants nothing', () => {
    assert.equal(hostOf(ssh, ACCESS('198.18.0.10', '/index.html')), null);
    assert.equal(hostOf(ssh, ACCESS('example.com', '/ssh')), null);
    assert.equal(hostOf(ssh, ACCESS('999.1.1.1', '/ssh')), null);
  });

  test('hostile lines: an address or a fake log prefix inside the request never becomes the granted host', () => {
    const forged = `198.18.0.10 - - [10/Oct/2024:13:55:36 +0000] "GET /ssh?x=198.18.0.66 - - [10/Oct/2024:13:55:36 +0000] HTTP/1.1" 404 1 "-" "198.18.0.77 - - \\"GET /ssh"`;
    assert.equal(hostOf(ssh, forged), '198.18.0.10');
    const ua = `198.18.0.11 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "x\\" 198.18.0.99 \\"GET /ssh"`;
    assert.equal(hostOf(ssh, ua), '198.18.0.11', 'a user agent saying GET /ssh opens only for its own sender');
    const long = `198.18.0.12 - - [10/Oct/2024:13:55:36 +0000] "GET /${' '.repeat(65_536)}x HTTP/1.1" 404 1`;
    assert.equal(hostOf(ssh, long), null, 'a 64 KiB line is read and not matched');
  });

  test('ignoreregex wins over failregex', () => {
    assert.equal(hostOf(filterOf(['^<HOST> -.*"GET /ssh'], ['curl/']), ACCESS('198.18.0.10', '/ssh')), null);
  });

  test('Python syntax and fail2ban tags translate', () => {
    const r = filterOf(['(?i)^(?P<who>\\S+) <F-USER>\\w+</F-USER> from <ADDR>$']);
    assert.equal(hostOf(r, 'X Bob FROM 2001:db8::1'), '2001:db8::1');
  });

  test('unusable regexes say why', () => {
    assert.throws(() => filterOf(['^GET /ssh']), /no failure-id/);
    assert.throws(() => filterOf(['^<HOST> (']), /missing \), unterminated subpattern/);
    assert.throws(() => filterOf(['^(?(1)a|b)<HOST>']), /conditional groups/);
  });

  test('filter.d regexes are matched against the line without its timestamp, as fail2ban does', () => {
    const botsearch = filterOf(['^<HOST> \\- \\S+ \\[\\] \\"(GET|POST|HEAD) \\/ssh \\S+\\" 404 .+$']);
    assert.equal(hostOf(botsearch, ACCESS('198.18.0.10', '/ssh')), '198.18.0.10');
  });
});

describe('fail2ban filter files', () => {
  const files: Record<string, string> = {
    '/f/common.conf': '[DEFAULT]\n_daemon = \\S*\n',
    '/f/knock.conf': [
      '[INCLUDES]',
      'before = common.conf',
      '',
      '[Definition]',
      'block = ssh|knock',
      'failregex = ^<HOST> -.*"GET /(?:<block>)',
      '            ^%(_daemon)s <HOST> knocked$',
      'ignoreregex = ',
      '# a comment',
    ].join('\n'),
    '/f/nohost.conf': '[Definition]\nfailregex = %(nope)s <HOST>',
    '/f/empty.conf': '[Definition]\nignoreregex = x',
  };
  const fs = { readText: (p: string) => files[p] ?? null, list: () => [] };

  test('reads multi-line failregex with includes, %(var)s and <var> tags', () => {
    const r = readFilterFile('/f/knock.conf', {}, fs);
    assert.deepEqual(r.failregex, ['^<HOST> -.*"GET /(?:ssh|knock)', '^\\S* <HOST> knocked$']);
    assert.deepEqual(r.ignoreregex, []);
  });

  test('a missing include or variable is reported', () => {
    assert.throws(
      () => readFilterFile('/f/knock.conf', {}, { ...fs, readText: (p) => (p === '/f/knock.conf' ? files[p] : null) }),
      /_daemon/,
    );
    assert.throws(() => readFilterFile('/f/nohost.conf', {}, fs), /%\(nope\)s/);
    assert.throws(() => readFilterFile('/f/empty.conf', {}, fs), /no failregex/);
  });
});

describe('HitCounter (maxretry/findtime)', () => {
  test('one hit opens by default', () => {
    assert.equal(new HitCounter(1, 600_000).hit('a', 0), true);
  });

  test('maxretry hits within findtime open, then the count starts over', () => {
    const c = new HitCounter(3, 10_000);
    assert.deepEqual(
      [c.hit('a', 0), c.hit('a', 1000), c.hit('b', 1500), c.hit('a', 2000)],
      [false, false, false, true],
    );
    assert.equal(c.hit('a', 2500), false);
  });

  test('hits older than findtime do not count', () => {
    const c = new HitCounter(2, 10_000);
    assert.equal(c.hit('a', 0), false);
    assert.equal(c.hit('a', 10_000), false);
    assert.equal(c.hit('a', 15_000), true);
  });

  test('memory is bounded under a flood of addresses', () => {
    const c = new HitCounter(5, 60_000, 100);
    for (let i = 0; i < 10_000; i++) c.hit(`10.0.${i >> 8}.${i & 255}`, i);
    assert.equal(c.size, 100);
  });
});

describe('LineBuffer', () => {
  test('holds a partial line until its newline arrives', () => {
    const b = new LineBuffer();
    assert.deepEqual(b.push('one\ntw'), ['one']);
    assert.deepEqual(b.push('o\r\nthree\n'), ['two', 'three']);
  });

  test('cuts an overlong line one past the bound (still too long for its reader) and drops its rest', () => {
    const b = new LineBuffer(4);
    assert.deepEqual(b.push('abcdefgh'), ['abcde']);
    assert.deepEqual(b.push('ijk\nnext\n'), ['next']);
    assert.deepEqual(b.push('abcdefgh\nok\n'), ['abcde', 'ok']);
  });
});

describe('followStep (logrotate cases)', () => {
  const file = { dev: 1, ino: 10, position: 100 };
  test('starts at the end, and reads a file that appears later from its start', () => {
    assert.deepEqual(followStep(null, { dev: 1, ino: 10, size: 100 }, 0, true), { kind: 'open', from: 'end' });
    assert.deepEqual(followStep(null, { dev: 1, ino: 10, size: 100 }, 0, false), { kind: 'open', from: 'start' });
    assert.deepEqual(followStep(null, null, 0, true), { kind: 'wait' });
  });

  test('reads appended data and notices copytruncate', () => {
    assert.deepEqual(followStep(file, { dev: 1, ino: 10, size: 150 }, 150, false), { kind: 'read' });
    assert.deepEqual(followStep(file, { dev: 1, ino: 10, size: 100 }, 100, false), { kind: 'wait' });
    assert.deepEqual(followStep(file, { dev: 1, ino: 10, size: 20 }, 20, false), { kind: 'truncated' });
  });

  test('rename + create: drains the old file, then switches to the new one', () => {
    assert.deepEqual(followStep(file, null, 120, false), { kind: 'read' });
    assert.deepEqual(followStep(file, null, 100, false), { kind: 'wait' });
    assert.deepEqual(followStep(file, { dev: 1, ino: 11, size: 0 }, 130, false), { kind: 'read' });
    assert.deepEqual(followStep(file, { dev: 1, ino: 11, size: 0 }, 100, false), { kind: 'replaced' });
  });
});

describe('log door filter: with fail2ban filter options', () => {
  test('filter: {file, mode} picks the mode through [Init] and nested <mdre-<mode>> tags; unusable regexes are config errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-filter-'));
    try {
      const file = join(dir, 'knock.conf');
      writeFileSync(
        file,
        [
          '[Definition]',
          'mdre-normal = ^<HOST> -.*"GET /ssh',
          'mdre-aggressive = ^<HOST> -.*"GET /(?:ssh|admin)',
          'failregex = <mdre-<mode>>',
          '[Init]',
          'mode = normal',
        ].join('\n'),
      );
      const door = (mode?: string) => {
        const filter = mode ? `{ file: ${file}, mode: ${mode} }` : file;
        const plan = parseConfig(`doors:\n  l:\n    log: { file: /x, filter: ${filter} }\n    open: [22]\n`);
        return plan.doors[0] as LogDoor;
      };
      assert.deepEqual(door().log.failregex, ['^<HOST> -.*"GET /ssh']);
      const aggressive = door('aggressive');
      assert.deepEqual(aggressive.log.failregex, ['^<HOST> -.*"GET /(?:ssh|admin)']);
      assert.equal(hostOf(new Fail2banFilter(aggressive.log), ACCESS('198.18.0.7', '/admin')), '198.18.0.7');

      writeFileSync(join(dir, 'bad.conf'), '[Definition]\nfailregex = ^<HOST> a++\n');
      assert.throws(
        () => parseConfig(`doors:\n  l:\n    log: { file: /x, filter: ${join(dir, 'bad.conf')} }\n    open: [22]\n`),
        /fail2ban filter .*bad\.conf: failregex "\^<HOST> a\+\+": possessive quantifiers/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
