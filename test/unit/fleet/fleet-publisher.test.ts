import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { receiveFleetMessage } from '../../../src/core/fleet-message.js';
import { FleetPublisher } from '../../../src/fleet/fleet-publisher.js';
import { fakeRedis, fakeServer } from './fake-redis.js';
import { door, fleetContext, KEY } from './fleet-fixtures.js';

const NOW = Date.now();
/** Lets the pipelines a burst queued go out. */
const settle = () => new Promise((r) => setTimeout(r, 10));
/** Waits (at most 2 s) until `done()`: the outbox writes asynchronously, slower on a busy host. */
async function until(done: () => boolean): Promise<void> {
  for (const end = Date.now() + 2000; !done() && Date.now() < end;) await settle();
}

/** Node a's publisher on a fake Redis that is up only while `link.up`, with a clock the test moves. */
function setup() {
  const server = fakeServer();
  const client = fakeRedis(server);
  const link = { up: false, now: NOW };
  const ctx = fleetContext('a', () => link.now);
  const publisher = new FleetPublisher(ctx, () => (link.up && !server.lost ? client : undefined));
  const stream = () => server.streams.get(ctx.keys.events) ?? [];
  const read = (text: string | undefined) =>
    receiveFleetMessage(text, { key: KEY, cluster: 'prod', doors: [door()], nowMs: link.now });
  return { server, link, ctx, publisher, stream, read };
}

describe('fleet publisher (the outbox)', () => {
  test('what is granted while Redis is away is sent when it is back; a grant that ended meanwhile is not, a revocation is', async () => {
    const { server, link, ctx, publisher, stream, read } = setup();
    publisher.granted(door(), '198.18.0.10', NOW + 60_000);
    publisher.granted(door(), '198.18.0.11', NOW + 1000);
    assert.equal(publisher.pending, 2, 'queued, nothing sent');
    link.now += 2000;
    publisher.revoked(door(), '198.18.0.12');
    link.up = true;
    await publisher.flush();
    assert.equal(publisher.pending, 0);
    assert.equal(publisher.published, 2);
    const kept = read(server.strings.get(ctx.keys.grant('web', '198.18.0.10')));
    assert.ok(kept.ok && kept.message.kind === 'grant' && kept.message.origin === 'a', 'a signed grant under its key');
    assert.deepEqual(
      server.sets.filter(([k]) => k.includes(':grant:')),
      [[ctx.keys.grant('web', '198.18.0.10'), 58_000]],
      'expiring with the grant',
    );
    assert.equal(server.strings.has(ctx.keys.grant('web', '198.18.0.11')), false, 'the ended grant was not sent');
    assert.deepEqual(
      stream().map(([, f]) => {
        const v = read(f[1]);
        return v.ok ? [v.message.kind, v.message.address] : v.reason;
      }),
      [
        ['grant', '198.18.0.10'],
        ['revoke', '198.18.0.12'],
      ],
    );

    // connected: a grant goes out at once, and a revocation removes its key
    publisher.granted(door(), '198.18.0.13', link.now + 5000);
    await new Promise((r) => setImmediate(r));
    assert.ok(server.strings.has(ctx.keys.grant('web', '198.18.0.13')));
    publisher.revoked(door(), '198.18.0.13');
    await new Promise((r) => setImmediate(r));
    assert.equal(server.strings.has(ctx.keys.grant('web', '198.18.0.13')), false);
    assert.equal(stream().length, 4);
  });

  test('a send that fails keeps the batch for the next one', async () => {
    const { server, link, ctx, publisher, stream } = setup();
    link.up = true;
    server.failExec = true;
    publisher.granted(door(), '198.18.0.10', NOW + 60_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(publisher.pending, 1, 'kept');
    assert.equal(publisher.published, 0);
    assert.ok(ctx.lines.some((l) => l.event === 'fleet-send-failed'));
    server.lost = false; // Redis is back
    await publisher.flush();
    assert.equal(publisher.pending, 0);
    assert.equal(publisher.published, 1);
    assert.equal(stream().length, 1);
  });

  test('a Redis that restarted empty learns the running grants and revocations again; ended ones are forgotten', async () => {
    const { server, link, ctx, publisher, stream } = setup();
    link.up = true;
    publisher.granted(door(), '198.18.0.10', NOW + 60_000);
    publisher.granted(door(), '198.18.0.11', NOW + 1000);
    publisher.granted(door(), '198.18.0.12', NOW + 60_000);
    publisher.revoked(door(), '198.18.0.12');
    await until(() => server.strings.has(ctx.keys.revoked('web', '198.18.0.12')));
    const sent = server.strings.get(ctx.keys.grant('web', '198.18.0.10'));
    const revocation = server.strings.get(ctx.keys.revoked('web', '198.18.0.12'));
    assert.match(revocation ?? '', /^f1\./, 'a revocation is a key too');
    assert.equal(server.strings.has(ctx.keys.grant('web', '198.18.0.12')), false, "and the grant's key is gone");
    server.flushAll();
    link.now += 2000;
    await publisher.republish();
    assert.deepEqual(
      [...server.strings.keys()].sort(),
      [ctx.keys.grant('web', '198.18.0.10'), ctx.keys.revoked('web', '198.18.0.12')].sort(),
    );
    assert.equal(server.strings.get(ctx.keys.grant('web', '198.18.0.10')), sent, 'the same signed message');
    assert.equal(server.strings.get(ctx.keys.revoked('web', '198.18.0.12')), revocation);
    // on the stream again, so a node that dropped it while the key was missing gets it back
    assert.deepEqual(
      stream().map(([, f]) => f[1]),
      [sent],
    );
  });

  test('flaw 2: a revocation is kept in Redis until the longest grant it can end is over', async () => {
    const { server, link, ctx, publisher } = setup();
    link.up = true;
    publisher.granted(door(), '198.18.0.10', NOW + 60_000);
    publisher.revoked(door(), '198.18.0.10');
    await until(() => server.sets.some(([k]) => k === ctx.keys.revoked('web', '198.18.0.10')));
    const px = server.sets.find(([k]) => k === ctx.keys.revoked('web', '198.18.0.10'))?.[1];
    assert.equal(px, 60_000, "kept for the door's `for`, not dropped with the grant's key");
  });

  test('a door with `fleet: false` is never published', async () => {
    const { server, link, publisher } = setup();
    link.up = true;
    publisher.granted(door('local', { fleet: false }), '198.18.0.10', NOW + 60_000);
    publisher.revoked(door('local', { fleet: false }), '198.18.0.10');
    publisher.granted(door(), '198.18.0.10', NOW + 60_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(publisher.published, 1, 'positive control: the fleet door was');
    assert.deepEqual(
      [...server.strings.keys()].map((k) => k.split(':')[3]),
      ['web'],
    );
  });
});
