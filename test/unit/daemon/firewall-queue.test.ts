import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FirewallQueue, QueueClosedError } from '../../../src/daemon/firewall-queue.js';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('the firewall change queue', () => {
  test('changes run one at a time, in the order asked, even when one fails', async () => {
    const q = new FirewallQueue();
    const log: string[] = [];
    let running = 0;
    const job =
      (name: string, fail = false) =>
      async () => {
        running++;
        assert.equal(running, 1, 'two changes ran at once');
        log.push(`start ${name}`);
        await tick();
        log.push(`end ${name}`);
        running--;
        if (fail) throw new Error(name);
      };
    const results = await Promise.allSettled([q.run('a', job('a')), q.run('b', job('b', true)), q.run('c', job('c'))]);
    assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
  });

  test('close waits for queued changes, runs its last change after them, then refuses new ones', async () => {
    const q = new FirewallQueue();
    const log: string[] = [];
    void q.run('swap', async () => {
      await tick(20);
      log.push('swap');
    });
    await q.close(async () => {
      log.push('flush');
    });
    assert.deepEqual(log, ['swap', 'flush']);
    await assert.rejects(
      q.run('late swap', async () => log.push('late')),
      QueueClosedError,
    );
    assert.deepEqual(log, ['swap', 'flush']);
  });
});
