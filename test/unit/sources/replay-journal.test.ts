import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { JournalReplayCache, ReplayJournalError } from '../../../src/sources/replay/journal-replay-cache.js';
import type { ReplayCache } from '../../../src/core/contracts.js';
import { MemoryReplayCache } from '../../../src/sources/replay/replay-cache.js';
import { tempDir } from '../../e2e/support.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function journalFile(): string {
  const d = tempDir('sesame-replay-');
  dirs.push(d);
  return join(d, 'replay.journal');
}
const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).length;

/** The contract every ReplayCache keeps (a Redis one will run the same cases). */
function contract(name: string, make: (now: () => number) => ReplayCache) {
  describe(`${name}: the ReplayCache contract`, () => {
    test('the first use wins, a second use of the same key is refused', async () => {
      const c = make(() => 1_000);
      assert.equal(await c.use('nonce ssh a', 60_000), true);
      assert.equal(await c.use('nonce ssh a', 60_000), false);
      assert.equal(await c.use('nonce ssh b', 60_000), true);
      await c.close();
    });

    test('a key can be used again once its ttl has passed', async () => {
      let now = 1_000;
      const c = make(() => now);
      assert.equal(await c.use('k', 30_000), true);
      now += 29_999;
      assert.equal(await c.use('k', 30_000), false);
      now += 2;
      assert.equal(await c.use('k', 30_000), true);
      await c.close();
    });
  });
}

contract('MemoryReplayCache', (now) => new MemoryReplayCache(1000, now));
contract('JournalReplayCache', (now) => JournalReplayCache.open(journalFile(), { now }));

describe('JournalReplayCache: durable without rewriting itself per use', () => {
  test('a used key stays refused after the process dies without closing (kill -9) and reopens', () => {
    const file = journalFile();
    const now = () => 5_000;
    const first = JournalReplayCache.open(file, { now });
    assert.equal(first.use('nonce ssh a', 60_000), true);
    // no close(): what a killed process leaves behind is what was written so far
    const second = JournalReplayCache.open(file, { now });
    assert.equal(second.use('nonce ssh a', 60_000), false);
    assert.equal(second.use('nonce ssh b', 60_000), true);
  });

  test('each use appends one line; the file is not rewritten until compaction', () => {
    const file = journalFile();
    const c = JournalReplayCache.open(file, { now: () => 1, compactAfter: 100 });
    const inode = statSync(file).ino;
    for (let i = 0; i < 50; i++) c.use(`k${i}`, 60_000);
    assert.equal(lines(file), 50);
    assert.equal(statSync(file).ino, inode, 'appended in place, not replaced');
    c.close();
  });

  test('compaction drops expired entries and keeps the file proportional to what is live', () => {
    const file = journalFile();
    let now = 1_000;
    const c = JournalReplayCache.open(file, { now: () => now, compactAfter: 100 });
    for (let i = 0; i < 1000; i++) {
      now += 1_000;
      c.use(`k${i}`, 10_000); // ~10 live at any time
    }
    assert.ok(lines(file) < 120, `journal has ${lines(file)} lines`);
    assert.equal(c.use('k999', 10_000), false, 'a live key survives compaction');
    c.close();
    assert.deepEqual(
      readdirSync(join(file, '..')).filter((f) => f.endsWith('.tmp')),
      [],
      'no temporary files left',
    );
  });

  test('expired entries are not loaded; a torn last line (a crash mid-write) is skipped and reported', () => {
    const file = journalFile();
    writeFileSync(file, '["old",1000]\n["live",90000]\n["torn",9', { mode: 0o600 });
    const warnings: unknown[] = [];
    const c = JournalReplayCache.open(file, { now: () => 50_000, warn: (e, f) => warnings.push([e, f]) });
    assert.equal(c.size, 1);
    assert.equal(c.use('live', 1), false);
    assert.equal(c.use('old', 1), true);
    assert.deepEqual(warnings, [['replay-journal-skipped', { file, lines: 1 }]]);
    c.close();
  });

  test('the journal is created 0600', () => {
    const file = journalFile();
    JournalReplayCache.open(file).close();
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  test('a journal that cannot be read is an error, not an empty cache (that would re-open every replay)', () => {
    const file = journalFile();
    symlinkSync('/etc/passwd', file);
    assert.throws(() => JournalReplayCache.open(file), ReplayJournalError);
    const dir = tempDir('sesame-replay-');
    dirs.push(dir);
    const unreadable = join(dir, 'replay.journal');
    writeFileSync(unreadable, '');
    chmodSync(dir, 0o500); // compaction can't write: refuse to start rather than run without durability
    try {
      if (process.getuid?.() !== 0) assert.throws(() => JournalReplayCache.open(unreadable), /cannot rewrite/);
    } finally {
      chmodSync(dir, 0o700);
    }
    assert.ok(existsSync(unreadable));
  });
});
