import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Heartbeat, receiveHeartbeat, signHeartbeat } from '../../../src/core/fleet-heartbeat.js';
import { fleetMessage, signFleetMessage } from '../../../src/core/fleet-message.js';
import type { FleetSettings } from '../../../src/core/fleet-settings.js';
import { FleetNode } from '../../../src/fleet/fleet-node.js';
import type { FleetStatus } from '../../../src/fleet/fleet-status.js';
import { fakeRedis, fakeServer } from './fake-redis.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const NOW = 1_800_000_000_000;
const beat = (over: Partial<Heartbeat> = {}): Heartbeat => ({ name: 'b', at: NOW, published: 3, received: 7, ...over });
const ctx = { key: KEY, cluster: 'prod', keyName: 'b', nowMs: NOW };
const reason = (text: unknown, keyName = 'b') => {
  const v = receiveHeartbeat(text, { ...ctx, keyName });
  return v.ok ? 'ok' : v.reason;
};

describe('fleet heartbeats', () => {
  test('a signed heartbeat under its own name is accepted', () => {
    const v = receiveHeartbeat(signHeartbeat(KEY, 'prod', beat()), ctx);
    assert.ok(v.ok);
    assert.deepEqual(v.heartbeat, beat());
  });

  test('unsigned, wrongly signed or tampered heartbeats are refused', () => {
    assert.equal(reason(JSON.stringify(beat())), 'malformed', 'the old unsigned JSON form');
    assert.equal(
      reason(signHeartbeat(Buffer.from('another key of thirty-two bytes!'), 'prod', beat())),
      'bad-signature',
    );
    assert.equal(reason(signHeartbeat(KEY, 'staging', beat())), 'bad-signature');
    const [v, body, sig] = signHeartbeat(KEY, 'prod', beat()).split('.');
    const evil = Buffer.from(JSON.stringify(beat({ published: 999_999 }))).toString('base64url');
    assert.equal(reason(`${v}.${evil}.${sig}`), 'bad-signature');
    assert.equal(reason(`${v}.${body}.`), 'malformed');
  });

  test('a grant message is not a heartbeat, even with the fleet key', () => {
    const door = { kind: 'sequence', name: 'web', open: [{ port: 80, proto: 'tcp' }], forMs: 60_000 } as never;
    const grant = signFleetMessage(KEY, 'prod', fleetMessage('grant', door, '198.18.0.10', 'b', NOW, NOW + 1000));
    assert.equal(reason(grant), 'malformed');
    const [, body, sig] = grant.split('.');
    assert.equal(reason(`h1.${body}.${sig}`), 'bad-signature');
  });

  test("a node's heartbeat copied under another node's key is refused", () => {
    assert.equal(reason(signHeartbeat(KEY, 'prod', beat()), 'c'), 'name-mismatch');
  });

  test('garbage never throws; odd fields and times are refused', () => {
    for (const junk of [undefined, null, 42, '', 'h1', 'h1..', 'h1.a.b.c', '\u0000'])
      assert.equal(reason(junk), 'malformed');
    assert.equal(reason(`h1.${'A'.repeat(2000)}.x`), 'oversized');
    const signed = (o: object) => signHeartbeat(KEY, 'prod', o as Heartbeat);
    assert.equal(reason(signed(beat({ name: '../etc' }))), 'bad-field');
    assert.equal(reason(signed(beat({ published: -1 }))), 'bad-field');
    assert.equal(reason(signed(beat({ at: 1e300 }))), 'bad-field');
    assert.equal(reason(signed(beat({ at: NOW + 60_000 }))), 'from-the-future');
  });
});

describe('fleet heartbeats between nodes', () => {
  test('a forged heartbeat in Redis is dropped and logged, and the node does not show in status', async () => {
    const store = new Map<string, string>();
    const server = fakeServer(store);
    const settings = (node: string): FleetSettings => ({
      redis: { host: '198.18.0.99', port: 6379, db: 0, tls: false },
      cluster: 'prod',
      node,
      keyFile: '/unused',
      replay: 'shared',
      streamLength: 10_000,
      maxClockOffsetMs: 30_000,
    });
    // someone who can write to Redis but lacks the key: a made-up node, and b's real heartbeat copied as "evil"
    store.set(
      'sesame:prod:node:mallory',
      JSON.stringify({ name: 'mallory', at: Date.now(), published: 1, received: 1 }),
    );
    store.set(
      'sesame:prod:node:forged',
      signHeartbeat(Buffer.from('not the fleet key, but 32 bytes.'), 'prod', beat({ name: 'forged', at: Date.now() })),
    );
    const logs: { event: string; fields?: Record<string, unknown> }[] = [];
    let last: FleetStatus | undefined;
    const node = (name: string, onStatus?: (s: FleetStatus) => void) =>
      new FleetNode({
        settings: settings(name),
        key: KEY,
        doors: () => [],
        apply: async () => {},
        log: (_level, event, fields) => {
          if (name === 'a') logs.push({ event, fields });
        },
        redis: () => fakeRedis(server),
        heartbeatMs: 30,
        ...(onStatus ? { onStatus } : {}),
      });
    const a = node('a', (s) => {
      last = s;
    });
    const b = node('b');
    a.start();
    b.start();
    try {
      // positive control: b's signed heartbeat shows on a
      const deadline = Date.now() + 5000;
      while (!last?.nodes.some((n) => n.name === 'b') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      store.set('sesame:prod:node:evil', store.get('sesame:prod:node:b') ?? '');
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await a.stop();
      await b.stop();
    }
    assert.ok(last, 'a reported its status');
    assert.deepEqual(
      last.nodes.map((n) => n.name),
      ['a', 'b'],
      'only the signed heartbeats count as nodes',
    );
    const drops = logs.filter((l) => l.event === 'fleet-dropped' && l.fields?.what === 'heartbeat');
    const byNode = Object.fromEntries(drops.map((d) => [d.fields?.node, d.fields?.reason]));
    assert.deepEqual(byNode, { mallory: 'malformed', forged: 'bad-signature', evil: 'name-mismatch' });
    assert.equal(drops.length, 3, 'each forged value is logged once, not on every heartbeat');
    assert.equal(last.dropped, 3);
  });

  test('two nodes under one name (a cloned VM image) are logged loudly and shown; a restart under the same name is not', async () => {
    const server = fakeServer();
    const logs: { node: number; level: string; event: string }[] = [];
    const statuses = new Map<number, FleetStatus>();
    const node = (i: number) =>
      new FleetNode({
        settings: {
          redis: { host: '198.18.0.99', port: 6379, db: 0, tls: false },
          cluster: 'prod',
          node: 'web1',
          keyFile: '/unused',
          replay: 'shared',
          streamLength: 10_000,
          maxClockOffsetMs: 30_000,
        },
        key: KEY,
        doors: () => [],
        apply: async () => {},
        log: (level, event) => logs.push({ node: i, level, event }),
        redis: () => fakeRedis(server),
        heartbeatMs: 20,
        onStatus: (s) => statuses.set(i, s),
      });
    const dup = () => logs.filter((l) => l.event === 'fleet-duplicate-node');
    // positive control first: the same name restarted (one process after the other) is no clone
    const first = node(1);
    first.start();
    await new Promise((r) => setTimeout(r, 150));
    await first.stop();
    const restarted = node(2);
    restarted.start();
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(dup(), [], 'a restart is not a duplicate');
    const clone = node(3);
    clone.start();
    try {
      const deadline = Date.now() + 3000;
      while (dup().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    } finally {
      await restarted.stop();
      await clone.stop();
    }
    assert.ok(dup().length >= 1, 'the clone is seen');
    assert.ok(dup().every((l) => l.level === 'error'));
    assert.ok(dup().length <= 2, 'logged once a minute per node, not every beat');
    assert.ok(
      [2, 3].some((i) => statuses.get(i)?.duplicateName),
      'and sesame status says so',
    );
  });
});
