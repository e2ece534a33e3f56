import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { FleetRevocations } from '../../../src/core/fleet-revocations.js';
import { FleetClock } from '../../../src/fleet/fleet-clock.js';
import { backoffMs } from '../../../src/fleet/redis-connection.js';
import { fleetKeys } from '../../../src/fleet/redis-keys.js';
import type { ReplayCache } from '../../../src/core/contracts.js';
import { SharedReplay } from '../../../src/fleet/shared-replay.js';

/** A local cache that remembers keys (no expiry needed here). */
function localCache(): ReplayCache & { keys: Set<string> } {
  const keys = new Set<string>();
  return { keys, use: (k) => (keys.has(k) ? false : (keys.add(k), true)), close: () => {} };
}

/** Just enough of a Redis client for `SET key 1 PX ttl NX`, shared by "nodes". */
function fakeRedis(store: Map<string, number>, fail = false) {
  return {
    set: async (key: string, _v: string, _px: string, ttl: number, _nx: string) => {
      if (fail) throw new Error('connection lost');
      if (store.has(key)) return null;
      store.set(key, ttl);
      return 'OK';
    },
  } as unknown as Redis;
}

describe('fleet parts', () => {
  test('the fleet clock: offset from one TIME reading, taken at the midpoint of the call', () => {
    let local = 1_000_000;
    const clock = new FleetClock(() => local);
    assert.equal(clock.synced, false);
    // Redis says 1,003,600.250 s... as [seconds, microseconds]; the call took 10 ms locally
    clock.record(['1003600', '250000'], 999_995, 1_000_005);
    assert.equal(clock.offset, 1_003_600_250 - 1_000_000);
    assert.equal(clock.now(), 1_003_600_250);
    local += 500;
    assert.equal(clock.toLocal(clock.fromLocal(1234)), 1234);
    clock.record(['garbage', 'x'], 0, 0);
    assert.equal(clock.now(), 1_003_600_750, 'a garbled reply leaves the offset alone');
  });

  test('reconnect backoff grows from ~100 ms to ~5 s, jittered', () => {
    assert.equal(
      backoffMs(1, () => 0.5),
      100,
    );
    assert.equal(
      backoffMs(3, () => 0.5),
      400,
    );
    assert.equal(
      backoffMs(50, () => 0.5),
      5000,
    );
    assert.ok(backoffMs(50, () => 0.999) <= 6250 && backoffMs(50, () => 0) >= 3750);
  });

  test('keys live under the cluster; replay keys are hashed', () => {
    const k = fleetKeys('prod');
    assert.equal(k.grant('web', '198.18.0.10'), 'sesame:prod:grant:web:198.18.0.10');
    assert.match(k.replay('hmac ssh nonce'), /^sesame:prod:replay:[A-Za-z0-9_-]{43}$/);
    assert.ok(!k.replay('totp web 1').includes('web'));
  });

  test('a token used on one node is refused on another (SET NX), and twice on the same', async () => {
    const store = new Map<string, number>();
    const log: string[] = [];
    const node = () =>
      new SharedReplay({
        redis: () => fakeRedis(store),
        keys: fleetKeys('c'),
        mode: 'shared',
        log: (_l, e) => log.push(e),
      });
    const [a, b] = [node().wrap(localCache()), node().wrap(localCache())];
    assert.equal(await a.use('hmac ssh n1', 30_000), true);
    assert.equal(await b.use('hmac ssh n1', 30_000), false, 'replayed to the other node');
    assert.equal(await a.use('hmac ssh n1', 30_000), false, 'replayed to the same node');
    assert.equal(await b.use('hmac ssh n2', 30_000), true);
    assert.ok(
      [...store.values()].every((ttl) => ttl > 30_000),
      'kept longer than the token lives',
    );
    assert.deepEqual(log, []);
  });

  test('redis down: shared falls back to the local cache and says so once; shared-only refuses', async () => {
    const log: [string, unknown][] = [];
    const shared = new SharedReplay({
      redis: () => undefined,
      keys: fleetKeys('c'),
      mode: 'shared',
      log: (_l, e, f) => log.push([e, f?.mode]),
    });
    const local = localCache();
    assert.equal(await shared.use(local, 'k1', 1000), true);
    assert.equal(await shared.use(local, 'k1', 1000), false, 'the local cache still refuses a replay');
    assert.equal(await shared.use(local, 'k2', 1000), true);
    assert.deepEqual(log, [['replay', 'local-fallback']]);
    assert.equal(shared.fallbacks, 2);

    const failing = new SharedReplay({
      redis: () => fakeRedis(new Map(), true),
      keys: fleetKeys('c'),
      mode: 'shared',
      log: () => {},
    });
    assert.equal(await failing.use(localCache(), 'k', 1000), true, 'a failing Redis falls back too');

    const strict = new SharedReplay({
      redis: () => undefined,
      keys: fleetKeys('c'),
      mode: 'shared-only',
      log: (_l, e, f) => log.push([e, f?.mode]),
    });
    const strictLocal = localCache();
    assert.equal(await strict.use(strictLocal, 'k3', 1000), false);
    assert.equal(strictLocal.keys.size, 0, 'a refused token is not burnt locally');
    assert.deepEqual(log.at(-1), ['replay', 'shared-only']);
  });

  test('flaw 2: a revocation covers the grants issued before it, until it ends; a newer one replaces an older', () => {
    const r = new FleetRevocations(2);
    r.record('web', '198.18.0.10', 1000, 61_000, 'b');
    assert.ok(r.covering('web', '198.18.0.10', 999, 2000), 'issued before: dead');
    assert.ok(r.covering('web', '198.18.0.10', 1000, 2000), 'issued with it: dead');
    assert.equal(r.covering('web', '198.18.0.10', 1001, 2000), null, 'issued after: a new grant');
    assert.equal(r.covering('web', '198.18.0.11', 999, 2000), null, 'another address');
    assert.equal(r.covering('web', '198.18.0.10', 999, 61_000), null, 'over once every grant it could end is');
    r.record('web', '198.18.0.10', 500, 60_500, 'c');
    assert.equal(r.get('web', '198.18.0.10', 0)?.origin, 'b', 'an older one does not replace it');
    r.record('web', '198.18.0.12', 1000, 2000, 'b');
    r.record('web', '198.18.0.13', 1000, 90_000, 'b');
    assert.equal(r.size, 2, 'bounded: the one ending first went');
    assert.equal(r.get('web', '198.18.0.12', 0), null);
    r.prune(70_000);
    assert.equal(r.size, 1);
  });

  test('flaw 3: a TIME reading further from the local clock than the bound is flagged', () => {
    const clock = new FleetClock(() => 1_000_000, 30_000);
    clock.record(['1020', '0'], 1_000_000, 1_000_000);
    assert.equal(clock.beyondBound, false, '20 s: within');
    clock.record(['920', '0'], 1_000_000, 1_000_000);
    assert.equal(clock.offset, -80_000);
    assert.equal(clock.beyondBound, true, '-80 s: beyond');
    clock.record(['1000', '0'], 1_000_000, 1_000_000);
    assert.equal(clock.beyondBound, false, 'back within');
  });
});
