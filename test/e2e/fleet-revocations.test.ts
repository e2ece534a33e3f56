import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Door } from '../../src/core/door.js';
import { fleetMessage, signFleetMessage } from '../../src/core/fleet-message.js';
import { sendControl } from '../../src/daemon/control-socket.js';
import { sesame } from '../../src/lab/processes.js';
import { CLUSTER, type FleetLab, type FleetNodeLab, fleetLab } from './fleet-lab.js';
import { e2eSkip, eventually, sleep } from './support.js';

/** Small, so a bounded number of grants pushes a cut-off node's place out of the stream. */
const STREAM_LENGTH = 20;
const DOORS = `doors:
  admin:
    knock: [7001, 7002, 7003]
    within: 10s
    open: [8080]
    for: 60s
  bulk:
    knock: [7201, 7202]
    within: 10s
    open: [9999]
    for: 10s
`;

const skip = e2eSkip({ 'redis-server': 'redis-server', 'redis-cli': 'redis-tools', sshd: 'openssh-server' });

/**
 * Flaw 2 of the third hardening round: revocations were only stream events, so a node that was
 * down or away for more than the stream's length kept the revoked grant, and a grant message
 * copied back into the stream after a restart opened again.
 */
describe('fleet revocations are durable: three nodes and a redis-server in namespaces', { skip }, () => {
  let f: FleetLab;
  const [a, b, c] = [0, 1, 2].map((i) => () => f.nodes[i]);
  const open8080 = async (client: number, nodes: (() => FleetNodeLab)[]) =>
    (await Promise.all(nodes.map((n) => f.connect(f.lab.clients[client], n(), 8080)))).map((r) => r === 'open');
  const allOpen = async (client: number, nodes: (() => FleetNodeLab)[]) =>
    (await open8080(client, nodes)).every(Boolean);
  const allClosed = async (client: number, nodes: (() => FleetNodeLab)[]) =>
    (await open8080(client, nodes)).every((o) => !o);
  const logs = () =>
    f.nodes.map((n) => `--- ${n.name}\n${(n.daemon?.output() ?? '').split('\n').slice(-15).join('\n')}`).join('\n');
  const control = async (n: FleetNodeLab, req: Parameters<typeof sendControl>[1]) => {
    const r = await sendControl(join(n.dir, 'control.sock'), req);
    assert.ok(r?.ok, `control ${req.op} on ${n.name}: ${JSON.stringify(r)}`);
  };
  const caughtUp = (n: FleetNodeLab) => eventually(() => /fleet-catch-up/.test(n.daemon?.output() ?? ''), 10_000);
  const adminDoor: Door = {
    kind: 'sequence',
    name: 'admin',
    knock: { ports: [], flags: { set: ['syn'], clear: [] }, withinMs: 10_000 },
    open: [{ port: 8080, proto: 'tcp' }],
    forMs: 60_000,
    reply: 'drop',
  } as Door;

  before(async () => {
    f = await fleetLab(DOORS, { clients: 3, fleet: () => `  stream_length: ${STREAM_LENGTH}\n` });
    await f.startRedis();
    for (const n of f.nodes) await f.startNode(n);
    for (const n of f.nodes) assert.ok(await caughtUp(n), n.daemon?.output());
  });
  after(() => f?.destroy());

  test('flaw 2: a node restarted during a revocation ends with the grant closed', async () => {
    const client = f.lab.clients[0];
    await f.knock(client, a(), [7001, 7002, 7003]);
    assert.ok(await eventually(() => allOpen(0, [a, b, c]), 5000), `open everywhere\n${logs()}`);
    await f.killNode(c());
    await control(b(), { op: 'revoke', door: 'admin', address: client.v4 });
    assert.ok(await eventually(() => allClosed(0, [a, b]), 5000), `A and B close\n${logs()}`);
    assert.ok(await allOpen(0, [c]), "C's kernel still holds the grant while its daemon is down");
    await f.startNode(c());
    assert.ok(await eventually(() => allClosed(0, [c]), 10_000), `C closes once it is back\n${logs()}`);
    assert.match(c().daemon?.output() ?? '', /"event":"fleet-reconcile".*"reason":"revoked while this node was away"/);
    // positive control: a new knock after the revocation opens C again
    await f.knock(client, a(), [7001, 7002, 7003]);
    assert.ok(await eventually(() => allOpen(0, [c]), 5000), `a new grant reaches C\n${logs()}`);
    await control(a(), { op: 'revoke', door: 'admin', address: client.v4 });
    assert.ok(await eventually(() => allClosed(0, [a, b, c]), 5000), `cleaned up\n${logs()}`);
  });

  test('flaw 2: a node cut off for more than the stream length ends with the grant closed', async () => {
    const client = f.lab.clients[1];
    await f.knock(client, a(), [7001, 7002, 7003]);
    assert.ok(await eventually(() => allOpen(1, [a, b, c]), 5000), `open everywhere\n${logs()}`);
    const mark = c().daemon?.output().length ?? 0;
    const sinceC = () => (c().daemon?.output() ?? '').slice(mark);
    await f.cutOff(c());
    try {
      const cutAt = Date.now();
      assert.ok(await eventually(() => /fleet-disconnected/.test(sinceC()), 15_000), `C sees the partition\n${logs()}`);
      console.log(`# partition seen by C after ${Date.now() - cutAt} ms`);
      const status = await eventually(async () => {
        const out = (await sesame(f.lab, c().host, ['status', '--state-dir', c().dir])).stdout;
        return /redis \S+ NOT connected/.test(out) && out;
      }, 5000);
      assert.ok(status, 'sesame status on C says it is not connected');
      await control(b(), { op: 'revoke', door: 'admin', address: client.v4 });
      assert.ok(await eventually(() => allClosed(1, [a, b]), 5000), `A and B close\n${logs()}`);
      // far more events than the stream keeps (trimming is by whole stream nodes of 100 entries)
      for (let i = 0; i < 250; i++)
        await control(a(), { op: 'grant', door: 'bulk', address: `198.19.${(i >> 8) + 100}.${i & 255}`, forMs: 5000 });
      const length = Number(await f.redisCli(['XLEN', `sesame:${CLUSTER}:events`]));
      assert.ok(length < 200, `the stream was trimmed to ${length} entries, past C's place in it`);
      assert.ok(await allOpen(1, [c]), 'C, cut off, still holds the grant');
    } finally {
      await f.heal(c());
    }
    assert.ok(await eventually(() => allClosed(1, [c]), 20_000), `C closes once it is back\n${logs()}`);
    assert.match(sinceC(), /"event":"fleet-stream-gap"/);
    assert.match(sinceC(), /"event":"fleet-reconcile".*"reason":"revoked while this node was away"/);
    // positive control: C is reading the fleet again
    await f.knock(client, a(), [7001, 7002, 7003]);
    assert.ok(await eventually(() => allOpen(1, [c]), 8000), `a new grant reaches C\n${logs()}`);
    await control(a(), { op: 'revoke', door: 'admin', address: client.v4 });
    assert.ok(await eventually(() => allClosed(1, [a, b, c]), 5000), `cleaned up\n${logs()}`);
  });

  test('flaw 2: a grant message re-added with XADD after its revocation opens nothing, also after a node restart', async () => {
    const client = f.lab.clients[2];
    await f.knock(client, a(), [7001, 7002, 7003]);
    assert.ok(await eventually(() => allOpen(2, [a, b, c]), 5000), `open everywhere\n${logs()}`);
    // what someone who can read Redis copies, without the fleet key
    const copied = await f.redisCli(['GET', `sesame:${CLUSTER}:grant:admin:${client.v4}`]);
    assert.match(copied, /^f1\./);
    await control(b(), { op: 'revoke', door: 'admin', address: client.v4 });
    assert.ok(await eventually(() => allClosed(2, [a, b, c]), 5000), `closed everywhere\n${logs()}`);
    await f.redisCli(['XADD', `sesame:${CLUSTER}:events`, '*', 'm', copied]);
    await sleep(1500);
    assert.ok(await allClosed(2, [a, b, c]), `the copied grant opens nothing\n${logs()}`);

    await f.killNode(c());
    await f.startNode(c());
    assert.ok(await caughtUp(c()), logs());
    await f.redisCli(['XADD', `sesame:${CLUSTER}:events`, '*', 'm', copied]);
    await sleep(1500);
    assert.ok(await allClosed(2, [a, b, c]), `still closed everywhere, C restarted included\n${logs()}`);
    assert.match(c().daemon?.output() ?? '', /"event":"fleet-dropped".*"reason":"revoked"/, 'restarted C says why');
    // positive control: a grant made after the revocation, through the same path, opens
    const now = Date.now();
    const fresh = signFleetMessage(
      f.fleetKey,
      CLUSTER,
      fleetMessage('grant', adminDoor, client.v4, 'mallory', now, now + 10_000),
    );
    await f.redisCli(['XADD', `sesame:${CLUSTER}:events`, '*', 'm', fresh]);
    assert.ok(await eventually(() => allOpen(2, [a, b, c]), 5000), `a newer signed grant opens\n${logs()}`);
  });
});
