import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { matchCommand } from '../../../src/cli/commands/match.js';
import { parseConfig } from '../../../src/config/load-config.js';
import type { LogDoor } from '../../../src/core/door.js';
import { Fail2banFilter } from '../../../src/core/fail2ban/filter.js';
import { journalOutputLine } from '../../../src/core/journal.js';

/**
 * Journal lines whose message carries its own date (exim's `2021-07-17 23:20:49 ...`, nginx's
 * `2023/12/09 21:35:20 [error] ...` under journald, fail2ban gh-3060 / gh-3646): fail2ban's
 * journal backend takes the entry's time as the date, reads the filter with logtype=journal
 * and leaves the message's date to the filter's journal prefix. The filter below has that
 * shape (a logtype-dependent prefix, as exim-common.conf and nginx-error-common.conf).
 * Regression: `sesame match --logtype journal` let the date detector cut the message's date,
 * so the journal prefix no longer matched (the line was missed), and a journal door read its
 * filter as logtype=file.
 */
const dir = mkdtempSync(join(tmpdir(), 'sesame-jdates-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const FILTER = join(dir, 'mta.conf');
writeFileSync(
  FILTER,
  String.raw`[DEFAULT]
logtype = file
[lt_file]
_pref = \s*
[lt_journal]
_pref = \S+ mta\[\d+\]: (?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d )?
[Definition]
_p = <lt_<logtype>/_pref>
failregex = ^%(_p)sauthenticator failed for \S+ \[<HOST>\]
journalmatch = _SYSTEMD_UNIT=mta.service
`,
);

const JOURNAL_LINES = [
  // as fail2ban's systemd backend formats an entry, the message with its own date
  'mail mta[3751]: 2021-07-17 23:20:49 authenticator failed for (x) [192.0.2.27]',
  // without the message date
  'mail mta[3751]: authenticator failed for (x) [192.0.2.28]',
  // journalctl -o short / short-iso / short-precise output of such entries
  'Jul 17 23:20:50 mail mta[3751]: 2021-07-17 23:20:49 authenticator failed for (x) [192.0.2.29]',
  '2021-07-17T23:20:50+0000 mail mta[3751]: 2021-07-17 23:20:49 authenticator failed for (x) [192.0.2.30]',
  'Jul 17 23:20:50.123456 mail mta[3751]: authenticator failed for (x) [192.0.2.31]',
  // journalctl -o json
  JSON.stringify({
    __CURSOR: 's=1;i=2',
    _HOSTNAME: 'mail',
    SYSLOG_IDENTIFIER: 'mta',
    _PID: '3751',
    MESSAGE: '2021-07-17 23:20:49 authenticator failed for (x) [192.0.2.32]',
  }),
  // negative control: another daemon's line
  'mail other[1]: 2021-07-17 23:20:49 authenticator failed for (x) [192.0.2.99]',
];

async function match(lines: string[], opts: { logtype?: string }) {
  const log = join(dir, `log-${Math.random()}`);
  writeFileSync(log, `${lines.join('\n')}\n`);
  let out = '';
  await matchCommand(
    log,
    { filter: FILTER, ...opts },
    (t) => (out += t),
    () => {},
  );
  return out
    .split('\n')
    .filter((l) => /^\d+ /.test(l))
    .map((l) => l.split(' ')[1]);
}

describe('journal lines with their own date inside', () => {
  test('sesame match --logtype journal matches them as fail2ban does (journalctl timestamps cut)', async () => {
    assert.deepEqual(await match(JOURNAL_LINES.slice(0, 5).concat(JOURNAL_LINES[6]), { logtype: 'journal' }), [
      '192.0.2.27',
      '192.0.2.28',
      '192.0.2.29',
      '192.0.2.30',
      '192.0.2.31',
    ]);
  });

  test('journalctl -o json input is journal input without --logtype', async () => {
    assert.deepEqual(await match([JOURNAL_LINES[5], JOURNAL_LINES[0], JOURNAL_LINES[6]], {}), [
      '192.0.2.32',
      '192.0.2.27',
    ]);
  });

  test('the same lines as a plain file (logtype file) miss: the control', async () => {
    // logtype=file reads the file prefix: the journal lines are not what it matches
    assert.deepEqual(await match(JOURNAL_LINES.slice(0, 2), {}), []);
    assert.deepEqual(await match(['2021-07-17 23:20:49 authenticator failed for (x) [192.0.2.40]'], {}), [
      '192.0.2.40',
    ]);
  });

  test("a journal door reads its filter as logtype=journal and matches the entry's line", () => {
    const door = (log: string) =>
      parseConfig(`doors:\n  mta:\n    log: ${log}\n    open: [25]\n`, join(dir, 'sesame.yaml')).doors[0] as LogDoor;
    const journal = new Fail2banFilter(door(`{journal: {}, filter: ${FILTER}}`).log);
    const entryLine = journalOutputLine(JOURNAL_LINES[5]);
    assert.equal(journal.processLine(entryLine, { dateKnown: true })[0]?.host, '192.0.2.32');
    assert.equal(journal.processLine(JOURNAL_LINES[0], { dateKnown: true })[0]?.host, '192.0.2.27');
    assert.equal(journal.processLine(JOURNAL_LINES[6], { dateKnown: true }).length, 0);
    // an explicit logtype wins, as in fail2ban; a file door keeps logtype=file
    const explicit = new Fail2banFilter(door(`{journal: {}, filter: {file: ${FILTER}, logtype: file}}`).log);
    assert.equal(explicit.processLine(JOURNAL_LINES[0], { dateKnown: true }).length, 0);
    const file = new Fail2banFilter(door(`{file: ${join(dir, 'x.log')}, filter: ${FILTER}}`).log);
    assert.equal(file.processLine(JOURNAL_LINES[0], { dateKnown: true }).length, 0);
  });
});
