import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readFilterFile } from '../../../src/config/fail2ban/filter-file.js';
import { nodeFilterFs } from '../../../src/config/fail2ban/filter-fs.js';
import { parseConfig } from '../../../src/config/load-config.js';
import type { LogDoor, Plan } from '../../../src/core/door.js';
import { failregexWarnings } from '../../../src/core/fail2ban/regex-lint.js';
import { Fail2banFilter } from '../../../src/core/fail2ban/filter.js';
import { Fail2banRegex } from '../../../src/core/fail2ban/regex.js';
import type { GrantContext, RefusalEvent } from '../../../src/sources/door-source.js';
import { logWatchSource } from '../../../src/sources/logwatch/source.js';

const NGINX_HTTP_AUTH = '/etc/fail2ban/filter.d/nginx-http-auth.conf';
const line = (ip: string, path: string, ua = 'curl/8.5.0') =>
  `${ip} - - [03/Dec/2026:10:00:00 +0000] "GET ${path} HTTP/1.1" 404 153 "-" "${ua}"`;

async function eventually(check: () => boolean, ms = 5000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 20)))
    if (check()) return true;
  return check();
}

/** A log door on a temp file with a fake daemon: what it granted and refused. */
async function logDoor(config: (file: string) => string) {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-hostile-'));
  const file = join(dir, 'access.log');
  writeFileSync(file, '');
  writeFileSync(join(dir, 'sesame.yaml'), config(file));
  const plan = parseConfig(readFileSync(join(dir, 'sesame.yaml'), 'utf8'), join(dir, 'sesame.yaml'));
  const door = plan.doors[0] as LogDoor;
  const granted: string[] = [];
  const refused: RefusalEvent[] = [];
  const ctx = {
    plan,
    logger: { log: () => {} },
    stateDir: dir,
    grant: async (_d, address) => {
      granted.push(address);
    },
    revoke: async () => false,
    onGrant: () => () => {},
    onRevoke: () => () => {},
    refused: (e) => refused.push(e),
  } as GrantContext;
  const source = await logWatchSource(door, ctx);
  assert.ok(source);
  return {
    plan,
    file,
    granted,
    refused,
    async close() {
      await source.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('log doors and hostile lines', () => {
  test('regression: a line past max_line was fed to the regex; now it is counted as a refusal and skipped', async () => {
    const d = await logDoor(
      (file) =>
        `doors:\n  ssh:\n    log: { file: ${file}, match: '^<HOST> -.*"GET /ssh', max_line: 1024 }\n    open: [22]\n`,
    );
    try {
      appendFileSync(file(d), `${line('198.18.0.66', '/ssh', 'a'.repeat(2000))}\n${line('198.18.0.10', '/ssh')}\n`);
      assert.ok(await eventually(() => d.granted.length > 0), 'the short line opens');
      assert.deepEqual(d.granted, ['198.18.0.10'], 'the long line opened nothing');
      assert.deepEqual(
        d.refused.map((r) => ({ reason: r.reason, door: r.door, max: r.fields?.max_line })),
        [{ reason: 'line-too-long', door: 'ssh', max: 1024 }],
      );
    } finally {
      await d.close();
    }
  });

  test('max_line defaults to 4096 and is bounded by what the followers keep of a line', () => {
    const plan = parseConfig(`doors:\n  ssh:\n    log: { file: /x, match: '^<HOST> x' }\n    open: [22]\n`, 's.yaml');
    assert.equal((plan.doors[0] as LogDoor).log.maxLine, 4096);
    assert.throws(
      () =>
        parseConfig(`doors:\n  ssh:\n    log: { file: /x, match: '^<HOST> x', max_line: 100000 }\n    open: [22]\n`),
      /max_line/,
    );
  });

  test("regression: <HOST>'s host-name part was unbounded (a long word cost an unanchored regex its square); now 253 characters", () => {
    const m = new Fail2banRegex('<HOST> -').search(`${'a'.repeat(300)} -`);
    assert.equal(m?.groups.dns?.length, 253);
    // positive control: a real name and an address still match whole
    assert.equal(new Fail2banRegex('<HOST> -').search('host.example.org -')?.groups.dns, 'host.example.org');
    assert.equal(new Fail2banRegex('^<HOST> -').search('198.18.0.9 -')?.groups.ip4, '198.18.0.9');
  });
});

describe('weak failregexes are warned about, at file:line', () => {
  const config = (match: string) =>
    `doors:\n  ssh:\n    log:\n      file: /var/log/x\n      match: '${match}'\n    open: [22]\n`;

  test('regression: an unanchored <HOST> regex loaded silently; now a warning names sesame.yaml:line', () => {
    const plan: Plan = parseConfig(config('<HOST> -.*"GET /ssh'), '/etc/sesame/sesame.yaml');
    assert.equal(plan.warnings?.length, 1);
    assert.match(plan.warnings?.[0] ?? '', /^\/etc\/sesame\/sesame\.yaml:5:\d+ doors\.ssh\.log\.match: .*not anchored/);
    // positive control: anchored, no warning
    assert.equal(parseConfig(config('^<HOST> -.*"GET /ssh'), 's.yaml').warnings, undefined);
  });

  test('a wildcard before <HOST> is a warning; "[^"]*" and \\S+ are not', () => {
    assert.deepEqual(
      failregexWarnings('^\\S+ user "(?:[^"]+|.*?)" client: <HOST>').map((w) => w.weakness),
      ['wildcard-before-address'],
    );
    assert.deepEqual(failregexWarnings('^\\S+ user "[^"]*" \\.* client: <HOST>.*$'), []);
    assert.deepEqual(
      failregexWarnings('^a <HOST>$|b <HOST>$').map((w) => w.weakness),
      ['unanchored'],
      'every alternative must be anchored',
    );
    assert.deepEqual(failregexWarnings('(?i)^(?:a|b) <HOST>'), []);
    assert.deepEqual(failregexWarnings('no address tag .*'), []);
  });

  test(
    "regression (CVE-2021-32749 class): Debian's stock nginx-http-auth lets the client's text choose the address; check now warns",
    { skip: readText(NGINX_HTTP_AUTH) === null && `${NGINX_HTTP_AUTH} is missing (install fail2ban)` },
    () => {
      const f = readFilterFile(NGINX_HTTP_AUTH, {}, nodeFilterFs);
      assert.ok(f.failregex.length >= 1);
      const plan = parseConfig(
        `doors:\n  web:\n    log:\n      file: /var/log/nginx/error.log\n      filter: ${NGINX_HTTP_AUTH}\n    open: [22]\n`,
        '/etc/sesame/sesame.yaml',
      );
      const w = plan.warnings ?? [];
      assert.ok(
        w.some((t) =>
          /^\/etc\/sesame\/sesame\.yaml:5:\d+ doors\.web\.log\.filter: .*failregex 1 .*\.\*\? before the address/.test(
            t,
          ),
        ),
        w.join('\n'),
      );
      // and the filter really does let the client choose: a Referer that repeats the line's tail
      // with another address makes the stock regex report that address, not the client's
      const forged =
        '2026/12/03 10:00:00 [error] 7#7: *1 user "x" was not found in "/etc/htpasswd", client: 198.18.0.10, server: s, request: "GET / HTTP/1.1", host: "h", ' +
        'referrer: "y": password mismatch, client: 198.18.0.66, server: s, request: "GET / HTTP/1.1", host: "h"';
      const failure = new Fail2banFilter(f).processLine(forged)[0];
      assert.equal(failure?.address, '198.18.0.66', 'the address the Referer named');
    },
  );
});

function file(d: { file: string }): string {
  return d.file;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
