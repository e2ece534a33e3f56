import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FleetDrops } from '../../../src/fleet/fleet-drops.js';
import { FleetPublisher } from '../../../src/fleet/fleet-publisher.js';
import { type FleetChange, FleetReader } from '../../../src/fleet/fleet-reader.js';
import { type FakeRedisServer, fakeRedis, fakeServer } from './fake-redis.js';
import { door, fleetContext, until } from './fleet-fixtures.js';

/** Node `node`'s publisher on `server` (Redis is up for it). */
function publisherOf(node: string, server: FakeRedisServer) {
  const client = fakeRedis(server);
  void client.connect();
  return new FleetPublisher(fleetContext(node), () => client);
}

type Held = { door: string; address: string; until: number };

/** Node a's reader on `server`, with what it applied in `applied` and what it holds in `held`. */
function readerOn(server: FakeRedisServer, held: Held[] = []) {
  const ctx = fleetContext('a');
  const applied: FleetChange[] = [];
  const drops = new FleetDrops(ctx.log, ctx.localNow);
  const apply = async (changes: readonly FleetChange[]) => {
    applied.push(...changes);
    for (const c of changes) {
      const i = held.findIndex((h) => h.door === c.door.name && h.address === c.address);
      if (i >= 0) held.splice(i, 1);
      if (c.kind === 'grant') held.push({ door: c.door.name, address: c.address, until: Date.now() + c.remainingMs });
    }
  };
  const reader = new FleetReader(ctx, { doors: () => [door()], apply, drops, held: () => held });
  const client = fakeRedis(server);
  void client.connect();
  const done = reader.run(client);
  const stop = async () => {
    reader.stop();
    client.disconnect();
    await done;
  };
  const seen = () => applied.map((c) => `${c.kind} ${c.address} from ${c.origin}`);
  return { ctx, reader, client, drops, applied, seen, stop };
}

describe('fleet reader (stream position, seen ids, catch-up)', () => {
  test('a starting node applies the running grants from the keys, then what the stream brings', async () => {
    const server = fakeServer();
    const b = publisherOf('b', server);
    b.granted(door(), '198.18.0.10', Date.now() + 30_000);
    await b.flush();
    const a = readerOn(server);
    try {
      await until(() => a.applied.length === 1);
      assert.ok(a.ctx.lines.some((l) => l.event === 'fleet-catch-up' && l.fields.applied === 1));
      b.granted(door(), '198.18.0.11', Date.now() + 30_000);
      b.revoked(door(), '198.18.0.10');
      await b.flush();
      await until(() => a.applied.length === 3);
      assert.deepEqual(a.seen(), ['grant 198.18.0.10 from b', 'grant 198.18.0.11 from b', 'revoke 198.18.0.10 from b']);
      const first = a.applied[0];
      assert.equal(first.door.name, 'web');
      assert.ok(first.remainingMs > 29_000 && first.remainingMs <= 30_000, `${first.remainingMs} ms left`);
      assert.equal(a.reader.received, 2);
      assert.equal(a.reader.revocationsReceived, 1);
    } finally {
      await a.stop();
    }
  });

  test("its own messages and repeats are not applied; a message that doesn't verify is dropped and counted", async () => {
    const server = fakeServer();
    const a = readerOn(server);
    try {
      await until(() => a.ctx.lines.some((l) => l.event === 'fleet-catch-up'));
      const own = publisherOf('a', server);
      own.granted(door(), '198.18.0.20', Date.now() + 30_000);
      await own.flush();
      const b = publisherOf('b', server);
      b.granted(door(), '198.18.0.21', Date.now() + 30_000);
      await b.flush();
      // the same message again (Redis got it twice after a resend), and a forgery
      const [, fields] = server.streams.get(a.ctx.keys.events)!.at(-1)!;
      const pipe = fakeRedis(server).pipeline();
      pipe.xadd(a.ctx.keys.events, '*', ...fields);
      pipe.xadd(a.ctx.keys.events, '*', 'm', 'f1.AAAA.BBBB');
      await pipe.exec();
      await until(() => a.drops.count === 1);
      b.granted(door(), '198.18.0.22', Date.now() + 30_000);
      await b.flush();
      await until(() => a.applied.length === 2);
      assert.deepEqual(a.seen(), ['grant 198.18.0.21 from b', 'grant 198.18.0.22 from b']);
      assert.ok(a.ctx.lines.some((l) => l.event === 'fleet-dropped' && l.fields.reason === 'bad-signature'));
    } finally {
      await a.stop();
    }
  });

  test('after an outage it resumes where it left the stream; when Redis lost that entry it catches up from the keys', async () => {
    const server = fakeServer();
    const b = publisherOf('b', server);
    const a = readerOn(server);
    const outage = async (during: () => Promise<void>) => {
      (a.client as unknown as { status: string }).status = 'reconnecting';
      await new Promise((r) => setTimeout(r, 80)); // the blocking read notices
      await during();
      (a.client as unknown as { status: string }).status = 'ready';
      a.client.emit('ready');
    };
    try {
      b.granted(door(), '198.18.0.30', Date.now() + 30_000);
      await b.flush();
      await until(() => a.applied.length === 1);

      await outage(async () => {
        b.granted(door(), '198.18.0.31', Date.now() + 30_000);
        await b.flush();
      });
      await until(() => a.applied.length === 2);
      assert.ok(
        a.ctx.lines.some((l) => l.event === 'fleet-resume'),
        'the stream still had its position',
      );

      await outage(async () => {
        server.flushAll(); // a Redis restarted empty...
        b.granted(door(), '198.18.0.32', Date.now() + 30_000); // ...that learns new grants
        await b.flush();
        server.streams.clear(); // but not the stream entries a was reading from
      });
      await until(() => a.seen().includes('grant 198.18.0.32 from b'));
      assert.deepEqual(a.seen().slice(1, 2), ['grant 198.18.0.31 from b']);
      // Redis lost the keys of .30 and .31 too: reconciled away (b puts them back when it reconnects)
      assert.deepEqual(a.seen().slice(2).sort(), [
        'grant 198.18.0.32 from b',
        'revoke 198.18.0.30 from fleet',
        'revoke 198.18.0.31 from fleet',
      ]);
      assert.equal(a.ctx.lines.filter((l) => l.event === 'fleet-catch-up').length, 2, 'at start and after the loss');
    } finally {
      await a.stop();
    }
  });

  test('flaw 2: a grant copied back into the stream after its revocation is refused, also by a reader started afresh', async () => {
    const server = fakeServer();
    const b = publisherOf('b', server);
    const c = publisherOf('c', server);
    const first = readerOn(server);
    let copied: string[] = [];
    try {
      await until(() => first.ctx.lines.some((l) => l.event === 'fleet-catch-up'));
      b.granted(door(), '198.18.0.40', Date.now() + 30_000);
      await b.flush();
      await until(() => first.applied.length === 1);
      copied = server.streams.get(first.ctx.keys.events)!.at(-1)![1];
      c.revoked(door(), '198.18.0.40');
      await c.flush();
      await until(() => first.applied.length === 2);
    } finally {
      await first.stop();
    }
    // a node restarted: nothing seen, nothing in memory; the revocation is in Redis
    const fresh = readerOn(server);
    try {
      await until(() => fresh.ctx.lines.some((l) => l.event === 'fleet-catch-up'));
      const pipe = fakeRedis(server).pipeline();
      pipe.xadd(fresh.ctx.keys.events, '*', ...copied);
      await pipe.exec();
      await until(() => fresh.drops.count === 1);
      assert.ok(fresh.ctx.lines.some((l) => l.event === 'fleet-dropped' && l.fields.reason === 'revoked'));
      // positive control: a grant made after the revocation applies
      b.granted(door(), '198.18.0.40', Date.now() + 30_000);
      await b.flush();
      await until(() => fresh.applied.length === 1);
      assert.deepEqual(fresh.seen(), ['grant 198.18.0.40 from b']);
    } finally {
      await fresh.stop();
    }
  });

  test('flaw 2: catch-up drops held grants revoked meanwhile, and grants from the fleet with no running grant in Redis', async () => {
    const server = fakeServer();
    const b = publisherOf('b', server);
    const held: Held[] = [];
    const a = readerOn(server, held);
    const outage = async (during: () => Promise<void>) => {
      (a.client as unknown as { status: string }).status = 'reconnecting';
      await new Promise((r) => setTimeout(r, 80));
      await during();
      (a.client as unknown as { status: string }).status = 'ready';
      a.client.emit('ready');
    };
    try {
      for (const address of ['198.18.0.50', '198.18.0.51', '198.18.0.52'])
        b.granted(door(), address, Date.now() + 30_000);
      await b.flush();
      await until(() => held.length === 3);
      // this node's own grant, made while Redis was away: not the fleet's to drop
      held.push({ door: 'web', address: '198.18.0.53', until: Date.now() + 30_000 });
      await outage(async () => {
        b.revoked(door(), '198.18.0.50');
        await b.flush();
        server.strings.delete(a.ctx.keys.grant('web', '198.18.0.51')); // gone without a trace
        server.streams.clear(); // and the stream moved on past a's place
      });
      await until(() => held.length === 2);
      assert.deepEqual(held.map((h) => h.address).sort(), ['198.18.0.52', '198.18.0.53']);
      const reasons = a.ctx.lines
        .filter((l) => l.event === 'fleet-reconcile')
        .map((l) => `${l.fields.address} ${l.fields.reason}`);
      assert.deepEqual(reasons.sort(), [
        '198.18.0.50 revoked while this node was away',
        '198.18.0.51 no running grant in redis',
      ]);
      assert.ok(a.ctx.lines.some((l) => l.event === 'fleet-stream-gap'));
    } finally {
      await a.stop();
    }
  });
});
