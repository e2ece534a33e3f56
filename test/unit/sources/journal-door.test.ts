import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseConfig } from '../../../src/config/load-config.js';
import type { LogDoor } from '../../../src/core/door.js';
import {
  journalctlArgs,
  journalMatchProblem,
  MAX_JOURNAL_LINE,
  parseJournalLine,
  splitJournalMatch,
  unitMatch,
} from '../../../src/core/journal.js';
import { JournalFollower, readCursor } from '../../../src/sources/logwatch/journal-follow.js';

const entry = (fields: Record<string, unknown>) => JSON.stringify({ __CURSOR: 's=1;i=1', ...fields });

describe('journal door: journalctl arguments', () => {
  test('no cursor starts at now; a cursor resumes after it; matches come after --', () => {
    assert.deepEqual(journalctlArgs(['_SYSTEMD_UNIT=ssh.service'], null), [
      '--follow',
      '--output=json',
      '--no-pager',
      '--quiet',
      '--lines=0',
      '--',
      '_SYSTEMD_UNIT=ssh.service',
    ]);
    const resumed = journalctlArgs(['A=1', '+', 'B=2'], 's=abc;i=5');
    assert.ok(resumed.includes('--after-cursor=s=abc;i=5'));
    assert.ok(!resumed.includes('--lines=0'));
    assert.deepEqual(resumed.slice(resumed.indexOf('--') + 1), ['A=1', '+', 'B=2']);
  });

  test('unit names, fail2ban journalmatch splitting and match checks', () => {
    assert.equal(unitMatch('ssh.service'), '_SYSTEMD_UNIT=ssh.service');
    assert.equal(unitMatch('ssh'), '_SYSTEMD_UNIT=ssh.service');
    // regression: two journalmatch lines were ANDed into one group (fail2ban ORs lines), and
    // a quoted value was cut at its blank
    assert.deepEqual(splitJournalMatch('_SYSTEMD_UNIT=a.service\n\nSYSLOG_IDENTIFIER="my app" _COMM=b'), [
      '_SYSTEMD_UNIT=a.service',
      '+',
      'SYSLOG_IDENTIFIER=my app',
      '_COMM=b',
    ]);
    assert.deepEqual(splitJournalMatch(' _SYSTEMD_UNIT=sshd.service + _COMM=sshd '), [
      '_SYSTEMD_UNIT=sshd.service',
      '+',
      '_COMM=sshd',
    ]);
    assert.equal(journalMatchProblem('_COMM=sshd'), null);
    assert.equal(journalMatchProblem('+'), null);
    assert.match(journalMatchProblem('--directory=/tmp') ?? '', /FIELD=value/);
    assert.match(journalMatchProblem('comm=sshd') ?? '', /upper-case/);
  });
});

describe('journal door: entries of journalctl --output=json', () => {
  test('formatted as fail2ban formats them: HOST IDENT[PID]: MESSAGE', () => {
    const got = parseJournalLine(
      entry({ _HOSTNAME: 'box', SYSLOG_IDENTIFIER: 'sshd', _PID: '42', MESSAGE: 'Failed password for root' }),
    );
    assert.deepEqual(got, { cursor: 's=1;i=1', line: 'box sshd[42]: Failed password for root' });
  });

  test('hostile MESSAGE values: bytes, bad bytes, null, numbers, huge, line breaks', () => {
    const bytes = [...Buffer.from('Failed password from 198.18.0.10\x07')];
    assert.equal(parseJournalLine(entry({ MESSAGE: bytes }))?.line, 'Failed password from 198.18.0.10\x07');
    assert.equal(parseJournalLine(entry({ MESSAGE: [0x66, 0xff, 0x6f] }))?.line, 'f\ufffdo');
    assert.equal(parseJournalLine(entry({ MESSAGE: [1, 2, 300] })), null);
    assert.equal(parseJournalLine(entry({ MESSAGE: [1, 'x'] })), null);
    assert.equal(parseJournalLine(entry({ MESSAGE: null })), null);
    assert.equal(parseJournalLine(entry({ MESSAGE: 12 })), null);
    assert.equal(parseJournalLine(entry({})), null);
    const huge = parseJournalLine(entry({ MESSAGE: 'x'.repeat(10 * MAX_JOURNAL_LINE) }));
    assert.equal(huge?.line.length, MAX_JOURNAL_LINE);
    const hugeBytes = parseJournalLine(entry({ MESSAGE: new Array(8 * MAX_JOURNAL_LINE).fill(0x41) }));
    assert.equal(hugeBytes?.line.length, MAX_JOURNAL_LINE);
    // a second "line" inside one entry can't start a line of its own
    const forged = parseJournalLine(entry({ MESSAGE: 'hello\nFailed password for root from 198.18.0.66' }));
    assert.equal(forged?.line, 'hello Failed password for root from 198.18.0.66');
  });

  test('not an entry: bad JSON, arrays, no cursor, a cursor with a newline', () => {
    assert.equal(parseJournalLine('{"MESSAGE":'), null);
    assert.equal(parseJournalLine('[1,2]'), null);
    assert.equal(parseJournalLine('null'), null);
    assert.equal(parseJournalLine(JSON.stringify({ MESSAGE: 'x' })), null);
    assert.equal(parseJournalLine(JSON.stringify({ __CURSOR: 'a\nb', MESSAGE: 'x' })), null);
  });
});

describe('journal door: config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-journal-conf-'));
  const doorOf = (log: string) => {
    const yaml = `doors:\n  ssh:\n    log: ${log}\n    open: [22]\n`;
    return parseConfig(yaml, join(dir, 'sesame.yaml')).doors[0] as LogDoor;
  };
  const problem = (log: string) => {
    try {
      doorOf(log);
    } catch (err) {
      return String((err as Error).message);
    }
    return 'loaded';
  };

  test('unit, match, and a filter journalmatch', () => {
    assert.deepEqual(doorOf(`{journal: {unit: ssh.service}, match: 'Failed password .* from <HOST>'}`).log.journal, [
      '_SYSTEMD_UNIT=ssh.service',
    ]);
    assert.deepEqual(
      doorOf(`{journal: {match: [SYSLOG_IDENTIFIER=sshd, '+', _COMM=sshd]}, match: 'from <HOST>'}`).log.journal,
      ['SYSLOG_IDENTIFIER=sshd', '+', '_COMM=sshd'],
    );
    const filter = join(dir, 'sshd.conf');
    writeFileSync(
      filter,
      '[Definition]\nfailregex = Failed password for .* from <HOST>\njournalmatch = _SYSTEMD_UNIT=sshd.service + _COMM=sshd\n',
    );
    const d = doorOf(`{journal: {}, filter: ${filter}}`);
    assert.deepEqual(d.log.journal, ['_SYSTEMD_UNIT=sshd.service', '+', '_COMM=sshd']);
    assert.equal(d.log.file, undefined);
  });

  test('refused with the field named: both or neither of file/journal, a bad match, no journalmatch', () => {
    assert.match(
      problem(`{file: /var/log/auth.log, journal: {unit: ssh}, match: 'from <HOST>'}`),
      /exactly one of `file`/,
    );
    assert.match(problem(`{match: 'from <HOST>'}`), /exactly one of `file`/);
    assert.match(problem(`{journal: {match: [--merge]}, match: 'from <HOST>'}`), /journal\.match.*FIELD=value/s);
    assert.match(problem(`{journal: {}, match: 'from <HOST>'}`), /give `unit`/);
    assert.match(problem(`{journal: {unit: ssh, match: A=1}, match: 'from <HOST>'}`), /not both/);
    const filter = join(dir, 'plain.conf');
    writeFileSync(filter, '[Definition]\nfailregex = from <HOST>\n');
    assert.match(problem(`{journal: {}, filter: ${filter}}`), /no journalmatch/);
  });

  test.after?.(() => rmSync(dir, { recursive: true, force: true }));
});

/** A journalctl stand-in: prints the entries after --after-cursor (or none with --lines=0), then runs `tail`. */
function fakeJournalctl(dir: string, entries: string[], exitAfter: boolean): string {
  const data = join(dir, 'entries.jsonl');
  writeFileSync(data, entries.map((e) => `${e}\n`).join(''));
  const script = join(dir, 'journalctl');
  writeFileSync(
    script,
    `#!/bin/sh
echo "$@" >> ${dir}/calls
cursor=""
for a in "$@"; do case "$a" in --after-cursor=*) cursor="\${a#--after-cursor=}";; esac; done
if [ -z "$cursor" ]; then out=""; else out=$(awk -v c="$cursor" 'found {print} index($0, "\\"" c "\\"") {found=1}' ${data}); fi
[ -n "$out" ] && printf '%s\\n' "$out"
${exitAfter ? 'exit 1' : 'exec sleep 30'}
`,
  );
  chmodSync(script, 0o755);
  return script;
}

describe('journal door: the follower with a journalctl stand-in', () => {
  test('resumes after the saved cursor, restarts a journalctl that exits (backoff), saves the cursor', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-journal-'));
    try {
      const e = (i: number) => JSON.stringify({ __CURSOR: `c${i}`, SYSLOG_IDENTIFIER: 'sshd', MESSAGE: `line ${i}` });
      const journalctl = fakeJournalctl(dir, [e(1), e(2), e(3)], true);
      const cursorFile = join(dir, 'journal-ssh.cursor');
      writeFileSync(cursorFile, 'c1\n');
      const lines: string[] = [];
      const restarts: number[] = [];
      const f = new JournalFollower(['A=1'], cursorFile, (l) => lines.push(l), {
        journalctl,
        minBackoffMs: 20,
        maxBackoffMs: 80,
        saveMs: 20,
        onRestart: (_why, ms) => restarts.push(ms),
      });
      await f.start();
      const deadline = Date.now() + 5000;
      while (restarts.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await f.stop();
      // the first run reads 2 and 3 (after c1); later runs start after c3 and read nothing again
      assert.deepEqual(lines, ['sshd: line 2', 'sshd: line 3']);
      assert.deepEqual(restarts.slice(0, 4), [20, 40, 80, 80]);
      assert.equal(readCursor(cursorFile), 'c3');
      const calls = readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n');
      assert.match(calls[0], /--after-cursor=c1 -- A=1$/);
      assert.match(calls[1], /--after-cursor=c3 -- A=1$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('without a cursor it starts at now (--lines=0), and stop ends the child', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-journal-'));
    try {
      const journalctl = fakeJournalctl(dir, [], false);
      const f = new JournalFollower(['A=1'], join(dir, 'cursor'), () => {}, { journalctl });
      await f.start();
      await new Promise((r) => setTimeout(r, 200));
      const t0 = Date.now();
      await f.stop();
      assert.ok(Date.now() - t0 < 1500, 'stop waits for the child to end, not for its timeout');
      assert.match(readFileSync(join(dir, 'calls'), 'utf8'), /--lines=0 -- A=1/);
      assert.equal(readCursor(join(dir, 'cursor')), null);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
