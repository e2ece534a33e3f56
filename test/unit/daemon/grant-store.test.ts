import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { GrantStore } from '../../../src/daemon/grant-store.js';
import { StateDirError, writeFileAtomic } from '../../../src/daemon/state-dir.js';
import { FakeKernel, fakePackets, recordingLogger, startDaemon } from './daemon-fakes.js';

const grant = (address: string, stop = `echo stop ${address}`) => ({
  door: 'web',
  family: 4 as const,
  address,
  until: 5,
  stop,
});

function tmp() {
  const root = mkdtempSync(join(tmpdir(), 'sesame-state-'));
  return { root, dir: join(root, 'state'), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

describe('the state folder', () => {
  test('is created 0700', () => {
    const { dir, cleanup } = tmp();
    try {
      new GrantStore(dir).open();
      assert.equal(statSync(dir).mode & 0o777, 0o700);
    } finally {
      cleanup();
    }
  });

  test('regression: a state folder others can write is refused, with the fix, before the firewall is touched', async () => {
    const { dir, cleanup } = tmp();
    try {
      mkdirSync(dir, { mode: 0o777 });
      chmodSync(dir, 0o777);
      assert.throws(
        () => new GrantStore(dir).open(),
        (err: Error) =>
          err instanceof StateDirError &&
          /writable by every user: chmod 700/.test(err.message) &&
          err.message.includes(dir),
      );
      const clock = { now: 0 };
      const kernel = new FakeKernel(clock);
      await assert.rejects(
        startDaemon(
          () => ({ doors: [], nflogGroup: 1, setSize: 16, scanGuard: null, source: 't' }),
          kernel,
          dir,
          clock,
        ),
        StateDirError,
      );
      assert.equal(kernel.applies, 0, 'nothing was loaded');
    } finally {
      cleanup();
    }
  });

  test(
    'a file in it owned by another user or writable by its group is refused, naming the file',
    { skip: process.getuid?.() !== 0 && 'needs root (chown)' },
    () => {
      const { dir, cleanup } = tmp();
      try {
        mkdirSync(dir, { mode: 0o700 });
        writeFileSync(join(dir, 'grants.journal'), '');
        chownSync(join(dir, 'grants.journal'), 65534, 65534);
        assert.throws(
          () => new GrantStore(dir).open(),
          /grants\.journal is owned by uid 65534, not by root.*chown 0:0/,
        );
        rmSync(join(dir, 'grants.journal'));
        writeFileSync(join(dir, 'http-replay.journal'), '', { mode: 0o620 });
        chmodSync(join(dir, 'http-replay.journal'), 0o620);
        assert.throws(() => new GrantStore(dir).open(), /http-replay\.journal is writable by its group: chmod go-w/);
      } finally {
        cleanup();
      }
    },
  );

  test("sesame's own control socket in it is accepted", async () => {
    const { dir, cleanup } = tmp();
    const server = createServer();
    try {
      mkdirSync(dir, { mode: 0o700 });
      await new Promise<void>((r) => server.listen(join(dir, 'control.sock'), r));
      assert.deepEqual(new GrantStore(dir).open().problems, []);
    } finally {
      server.close();
      cleanup();
    }
  });

  test('regression: a symlink planted in it is refused, and what it points to is never written', () => {
    const { root, dir, cleanup } = tmp();
    try {
      mkdirSync(dir, { mode: 0o700 });
      const victim = join(root, 'victim');
      writeFileSync(victim, 'precious\n');
      symlinkSync(victim, join(dir, 'grants.journal'));
      assert.throws(() => new GrantStore(dir).open(), /grants\.journal is a symlink/);
      assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
    } finally {
      cleanup();
    }
  });

  test('regression: temporary files get unpredictable names and are created exclusively', () => {
    const { dir, cleanup } = tmp();
    try {
      mkdirSync(dir, { mode: 0o700 });
      writeFileAtomic(dir, 'a.json', 'one');
      writeFileAtomic(dir, 'a.json', 'two');
      assert.equal(readFileSync(join(dir, 'a.json'), 'utf8'), 'two');
      assert.deepEqual(readdirSync(dir), ['a.json'], 'no temporary file left behind');
      assert.equal(statSync(join(dir, 'a.json')).mode & 0o777, 0o600);
      // the old name was grants.json.<pid>.tmp: guessable, and written through a symlink
      const old = join(dir, `a.json.${process.pid}.tmp`);
      symlinkSync('/nonexistent-sesame-target', old);
      writeFileAtomic(dir, 'a.json', 'three');
      assert.equal(readFileSync(join(dir, 'a.json'), 'utf8'), 'three');
      assert.equal(existsSync('/nonexistent-sesame-target'), false);
    } finally {
      cleanup();
    }
  });
});

describe('pending stops (grants.journal)', () => {
  test('a grant is one appended line, its end another; reopening keeps what is pending', () => {
    const { dir, cleanup } = tmp();
    try {
      const s = new GrantStore(dir);
      s.open();
      const a = grant('198.18.0.1');
      const b = grant('198.18.0.2');
      s.opened(a);
      s.opened(b);
      s.closed(a);
      assert.equal(readFileSync(s.path, 'utf8').trim().split('\n').length, 3);
      const again = new GrantStore(dir).open();
      assert.deepEqual(again.grants, [b]);
      assert.deepEqual(again.problems, []);
    } finally {
      cleanup();
    }
  });

  test('a knock flood does not grow the file without bound: it is compacted to the live grants', () => {
    const { dir, cleanup } = tmp();
    try {
      const s = new GrantStore(dir, { compactAfter: 100 });
      s.open();
      for (let i = 0; i < 5000; i++) {
        const g = grant(`198.18.${i >> 8}.${i & 255}`);
        s.opened(g);
        s.closed(g);
      }
      assert.ok(readFileSync(s.path, 'utf8').split('\n').length <= 201);
      assert.deepEqual(new GrantStore(dir).open().grants, []);
    } finally {
      cleanup();
    }
  });

  test('regression: a corrupt journal is kept aside and reported with its path, never read as empty', () => {
    const { dir, cleanup } = tmp();
    try {
      mkdirSync(dir, { mode: 0o700 });
      const good = grant('198.18.0.3');
      writeFileSync(join(dir, 'grants.journal'), `${JSON.stringify({ open: good })}\n{"open": garbage\n`, {
        mode: 0o600,
      });
      const { grants, problems } = new GrantStore(dir).open(new Date('2026-11-23T20:00:00Z'));
      assert.deepEqual(grants, [good], 'the readable entries are kept');
      assert.equal(problems.length, 1);
      assert.equal(problems[0].event, 'state-corrupt');
      assert.equal(problems[0].path, join(dir, 'grants.journal'));
      assert.match(problems[0].reason, /unreadable line 2/);
      assert.match(readFileSync(problems[0].keptAs!, 'utf8'), /garbage/, 'the damaged file is kept to read by hand');
    } finally {
      cleanup();
    }
  });

  test('regression: a truncated grants.json (older sesame) is moved aside and reported, not overwritten', () => {
    const { dir, cleanup } = tmp();
    try {
      mkdirSync(dir, { mode: 0o700 });
      const text =
        '{"version":1,"grants":[{"door":"web","family":4,"address":"198.18.0.4","until":5,"stop":"iptables -D';
      writeFileSync(join(dir, 'grants.json'), text, { mode: 0o600 });
      const { grants, problems } = new GrantStore(dir).open();
      assert.deepEqual(grants, []);
      assert.equal(problems[0].event, 'state-corrupt');
      assert.equal(problems[0].path, join(dir, 'grants.json'));
      assert.equal(readFileSync(problems[0].keptAs!, 'utf8'), text);
      assert.equal(existsSync(join(dir, 'grants.json')), false);
    } finally {
      cleanup();
    }
  });

  test('a readable grants.json from an older sesame is migrated into the journal', () => {
    const { dir, cleanup } = tmp();
    try {
      mkdirSync(dir, { mode: 0o700 });
      const g = grant('198.18.0.5');
      writeFileSync(join(dir, 'grants.json'), JSON.stringify({ version: 1, grants: [g] }), { mode: 0o600 });
      assert.deepEqual(new GrantStore(dir).open().grants, [g]);
      assert.equal(existsSync(join(dir, 'grants.json')), false);
      assert.deepEqual(new GrantStore(dir).open().grants, [g]);
    } finally {
      cleanup();
    }
  });

  test('the daemon logs a corrupt state file as an error with its path and where it was kept', async () => {
    const { dir, cleanup } = tmp();
    try {
      mkdirSync(dir, { mode: 0o700 });
      writeFileSync(join(dir, 'grants.json'), '{"version":1,"gra', { mode: 0o600 });
      const log = recordingLogger();
      const clock = { now: 0 };
      const d = await startDaemon(
        () => ({ doors: [], nflogGroup: 1, setSize: 16, scanGuard: null, source: 't' }),
        new FakeKernel(clock),
        dir,
        clock,
        fakePackets(),
        { logger: log },
      );
      await d.stop(false);
      const e = log.events.find((x) => x.event === 'state-corrupt');
      assert.equal(e?.level, 'error');
      assert.equal(e?.fields.path, join(dir, 'grants.json'));
      assert.match(String(e?.fields.kept_as), /grants\.json\.corrupt-/);
    } finally {
      cleanup();
    }
  });
});
