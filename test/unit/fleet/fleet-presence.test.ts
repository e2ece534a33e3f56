import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { signHeartbeat } from '../../../src/core/fleet-heartbeat.js';
import { FleetDrops } from '../../../src/fleet/fleet-drops.js';
import { FleetPresence } from '../../../src/fleet/fleet-presence.js';
import { type FakeRedisServer, fakeRedis, fakeServer } from './fake-redis.js';
import { fleetContext } from './fleet-fixtures.js';

function presenceOf(node: string, server: FakeRedisServer) {
  const ctx = fleetContext(node);
  const drops = new FleetDrops(ctx.log, ctx.localNow);
  const aux = fakeRedis(server);
  void aux.connect();
  const presence = new FleetPresence(ctx, drops, 2000);
  return { ctx, drops, presence, beat: (published = 0, received = 0) => presence.beat(aux, { published, received }) };
}

describe('fleet presence (heartbeats, node list)', () => {
  test("a beat sets this node's signed heartbeat, expiring after 5 periods, and lists every node seen", async () => {
    const server = fakeServer();
    const a = presenceOf('a', server);
    const b = presenceOf('b', server);
    await a.beat(1, 2);
    await b.beat(3, 4);
    await a.beat(1, 2);
    assert.deepEqual(
      a.presence.list().map((n) => [n.name, n.published, n.received]),
      [
        ['a', 1, 2],
        ['b', 3, 4],
      ],
    );
    assert.deepEqual(server.sets.at(-1), [a.ctx.keys.node('a'), 10_000]);
    assert.ok(a.ctx.clock.synced, 'the beat read the fleet clock');
  });

  test('a heartbeat that is not signed with the fleet key is dropped, logged once, and never listed', async () => {
    const server = fakeServer();
    const a = presenceOf('a', server);
    const b = presenceOf('b', server);
    server.strings.set(
      a.ctx.keys.node('mallory'),
      signHeartbeat(Buffer.from('not the fleet key, but 32 bytes.'), 'prod', {
        name: 'mallory',
        at: Date.now(),
        published: 0,
        received: 0,
      }),
    );
    await b.beat();
    await a.beat();
    await a.beat();
    assert.deepEqual(
      a.presence.list().map((n) => n.name),
      ['a', 'b'],
      'the signed ones are',
    );
    assert.equal(a.drops.count, 1);
    assert.deepEqual(
      a.ctx.lines.filter((l) => l.event === 'fleet-dropped').map((l) => [l.fields.node, l.fields.reason]),
      [['mallory', 'bad-signature']],
    );
  });
});
