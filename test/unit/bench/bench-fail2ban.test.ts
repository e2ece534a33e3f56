import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { FAIL2BAN_JAIL, fail2banFiles } from '../../../bench/fail2ban.js';

const knock = {
  dir: '/tmp/bench-f2b',
  logFile: '/tmp/bench-f2b/nginx/access.log',
  urlPath: '/knock/fail2ban',
  port: 2224,
  bantimeS: 60,
};

describe("bench's fail2ban peer (reverse-ban web knock)", () => {
  test('its own socket, pidfile and an in-memory database: nothing of the host fail2ban is used', () => {
    const conf = fail2banFiles(knock)['fail2ban.conf'];
    assert.match(conf, /^socket = \/tmp\/bench-f2b\/fail2ban\.sock$/m);
    assert.match(conf, /^pidfile = \/tmp\/bench-f2b\/fail2ban\.pid$/m);
    assert.match(conf, /^dbfile = :memory:$/m);
    assert.match(conf, /^logtarget = STDOUT$/m);
    assert.ok(!/\/var\/|\/etc\//.test(Object.values(fail2banFiles(knock)).join('\n')), 'no host paths');
  });

  test('the jail bans (opens) at the first matching line, for bantime, with the reverse-ban action', () => {
    const jail = fail2banFiles(knock)['jail.conf'];
    for (const line of [
      `[${FAIL2BAN_JAIL}]`,
      'maxretry = 1',
      'bantime = 60',
      'logpath = /tmp/bench-f2b/nginx/access.log',
      'action = nft-reverse-ban[port=2224]',
    ])
      assert.ok(jail.split('\n').includes(line), `jail.conf has "${line}"`);
    const action = fail2banFiles(knock)['action.d/nft-reverse-ban.conf'];
    assert.match(action, /^actionban = \/usr\/sbin\/nft add element inet f2b-knock knocked '\{ <ip> \}'$/m);
    assert.match(action, /^actionunban = \/usr\/sbin\/nft delete element inet f2b-knock knocked '\{ <ip> \}'$/m);
    // accept for set members, drop for the rest: the port is closed until a ban opens it
    assert.match(
      action,
      /tcp dport <port> ip saddr @knocked accept\n {2}\S+ add rule inet f2b-knock input tcp dport <port> drop/,
    );
  });

  const regex = existsSync('/usr/bin/fail2ban-regex');
  test(
    "fail2ban-regex: the filter matches nginx's line for the knock URL, and no other path",
    { skip: regex ? false : 'fail2ban is not installed (apt install fail2ban)' },
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'sesame-f2b-unit-'));
      try {
        const files = fail2banFiles({ ...knock, dir, urlPath: '/knock/f2b.x' });
        for (const [file, text] of Object.entries(files)) {
          mkdirSync(dirname(join(dir, file)), { recursive: true });
          writeFileSync(join(dir, file), text);
        }
        const log = join(dir, 'access.log');
        writeFileSync(
          log,
          [
            '198.18.16.7 - - [23/Nov/2026:21:40:00 +0000] "GET /knock/f2b.x HTTP/1.1" 404 153 "-" "curl/8.5.0"',
            '198.18.16.8 - - [23/Nov/2026:21:40:01 +0000] "GET /knock/f2bXx HTTP/1.1" 404 153 "-" "curl/8.5.0"',
            '198.18.16.9 - - [23/Nov/2026:21:40:02 +0000] "GET /index.html HTTP/1.1" 200 6 "-" "curl/8.5.0"',
            '198.18.16.10 - - [23/Nov/2026:21:40:03 +0000] "POST /knock/f2b.x HTTP/1.1" 404 153 "-" "curl/8.5.0"',
            '',
          ].join('\n'),
        );
        const out = execFileSync(
          'fail2ban-regex',
          ['--print-all-matched', log, join(dir, 'filter.d', `${FAIL2BAN_JAIL}.conf`)],
          { encoding: 'utf8' },
        );
        assert.match(out, /Lines: 4 lines, 0 ignored, 1 matched, 3 missed/);
        assert.match(out, /198\.18\.16\.7 .*GET \/knock\/f2b\.x/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
