import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FileFollower } from '../../../src/sources/logwatch/follow.js';

/** Fails instead of hanging: the bug this guards against is an open() that never returns. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not return within ${ms} ms`)), ms);
    }),
  ]);
}

describe('a FIFO in place of a watched log', () => {
  test('regression: it is refused without blocking, stop returns, and a plain file there is then followed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-fifo-'));
    const path = join(dir, 'access.log');
    const lines: string[] = [];
    const errors: string[] = [];
    const f = new FileFollower(path, (l) => lines.push(l), { pollMs: 50, onError: (e) => errors.push(e.message) });
    try {
      execFileSync('mkfifo', [path]);
      await within(f.start(), 3000, 'start() on a FIFO');
      await within(f.tick(), 3000, 'a poll on a FIFO');
      assert.equal(errors.length, 1, 'reported once, not on every poll');
      assert.match(errors[0], /access\.log is not a regular file \(a FIFO\)/);
      // positive control: the same follower picks up a plain file at that path
      rmSync(path);
      writeFileSync(path, '');
      await within(f.tick(), 3000, 'a poll');
      appendFileSync(path, '198.18.0.9 - - "GET /ssh"\n');
      await within(f.tick(), 3000, 'a poll');
      assert.deepEqual(lines, ['198.18.0.9 - - "GET /ssh"']);
    } finally {
      await within(f.stop(), 3000, 'stop()');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
