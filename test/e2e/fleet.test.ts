import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Door } from '../../src/core/door.js';
import { fleetMessage, signFleetMessage } from '../../src/core/fleet-message.js';
import { sesame } from '../../src/lab/processes.js';
import { CLUSTER, type FleetLab, fleetLab } from './fleet-lab.js';
import { e2eSkip, eventually, sleep } from './support.js';

const WEB_FOR_S = 8;
const DOORS = `doors:
  web:
    knock: [6001, 6002, 6003]
    within: 10s
    open: [80]
    for: ${WEB_FOR_S}s
    close: [6101, 6102]
  admin:
    knock: [6301, 6302, 6303]
    within: 10s
    open: [8080]
    for: 40s
  ssh:
    http: { token: hmac, secret: ../door.key }
    open: [22]
    for: 60s
  sshspa:
    spa: { keys: ../spa.keys }
    open: [8090]
    for: 30s
  solo:
    knock: [6401, 6402]
    within: 10s
    open: [2222]
    for: 30s
    fleet: false
`;

const skip = e2eSkip({
  'redis-server': 'redis-server',
  'redis-cli': 'redis-tools',
  sshd: 'openssh-server',
  curl: 'curl',
});

describe('fleet mode: three nodes and a redis-server in namespaces', { skip }, () => {
  let f: FleetLab;
  const webDoor = (forMs = WEB_FOR_S * 1000): Door => ({
    kind: 'sequence',
    name: 'web',
    knock: { ports: [], flags: { set: ['syn'], clear: [] }, withinMs: 10_000 },
    open: [{ port: 80, proto: 'tcp' }],
    forMs,
    reply: 'drop',
  });
  const [a, b, c] = [0, 1, 2].map((i) => () => f.nodes[i]);
  const opensOn = async (client: number, port: number, nodes: (() => FleetLab['nodes'][number])[]) =>
    (await Promise.all(nodes.map((n) => f.connect(f.lab.clients[client], n(), port)))).every((r) => r === 'open');
  const closedOn = async (client: number, port: number, nodes: (() => FleetLab['nodes'][number])[]) =>
    (await Promise.all(nodes.map((n) => f.connect(f.lab.clients[client], n(), port)))).every((r) => r !== 'open');

  /** The last log lines of every node, for failure messages. */
  const logs = () =>
    f.nodes.map((n) => `--- ${n.name}\n${(n.daemon?.output() ?? '').split('\n').slice(-12).join('\n')}`).join('\n');

  /** POSTs `token` to a node's web-knock endpoint for door ssh; the HTTP status. */
  const postToken = async (client: number, node: FleetLab['nodes'][number], token: string) => {
    const r = await f.lab.run(f.lab.clients[client], 'curl', [
      '-sS',
      '--max-time',
      '5',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--data-binary',
      token,
      `http://${node.host.v4}:8443/knock/ssh`,
    ]);
    return r.stdout.trim();
  };
  const newToken = async () =>
    (await sesame(f.lab, f.lab.clients[1], ['token', 'ssh', '-c', a().config])).stdout.trim();

  before(async () => {
    // C refuses token knocks while Redis is away; A and B fall back to their own replay journal
    f = await fleetLab(DOORS, { fleet: (name) => (name === 'c' ? '  replay: shared-only\n' : '') });
    await f.startRedis();
    for (const n of f.nodes) await f.startNode(n);
    // every node has caught up (its reader is on the stream) before the first knock
    for (const n of f.nodes)
      assert.ok(await eventually(() => /fleet-catch-up/.test(n.daemon?.output() ?? ''), 10_000), n.daemon?.output());
  });
  after(() => f?.destroy());

  test('a sequence knock on A opens B and C for the knocker only, and all three close on time', async () => {
    const [knocker] = f.lab.clients;
    assert.ok(await closedOn(0, 80, [a, b, c]), 'port 80 is closed everywhere before the knock');
    await f.knock(knocker, a(), [6001, 6002, 6003]);
    assert.ok(await eventually(() => opensOn(0, 80, [a, b, c]), 5000), `A, B and C open for the knocker\n${logs()}`);
    // C got the remaining time, never more than the door's `for`
    const timeout = await f.grantTimeout(c(), 'web', knocker.v4);
    assert.ok(timeout !== null && timeout > 0 && timeout <= WEB_FOR_S * 1000, `C's grant timeout ${timeout} ms`);
    assert.equal(await f.curl(knocker, c()), 'node-c');
    assert.ok(await closedOn(1, 80, [a, b, c]), 'another address stays closed on every node');
    const status = await eventually(async () => {
      const out = (await sesame(f.lab, a().host, ['status', '--state-dir', a().dir])).stdout;
      return (
        /redis \S+ connected/.test(out) &&
        /^\s+b\s+last heartbeat/m.test(out) &&
        /^\s+c\s+last heartbeat/m.test(out) &&
        out
      );
    }, 8000);
    assert.ok(status, 'sesame status on A shows the fleet: connected, nodes b and c with their heartbeats');
    assert.ok(await eventually(() => closedOn(0, 80, [a, b, c]), (WEB_FOR_S + 6) * 1000), `all three close\n${logs()}`);
  });

  test('an IPv6 knock on A opens B and C for that IPv6 address only', async () => {
    const [knocker] = f.lab.clients;
    const closed6 = async (client: number, nodes: (() => FleetLab['nodes'][number])[]) =>
      (await Promise.all(nodes.map((n) => f.connect(f.lab.clients[client], n(), 80, 6)))).every((r) => r !== 'open');
    assert.ok(await closed6(0, [a, b, c]), 'port 80 is closed over IPv6 everywhere before the knock');
    await f.knock(knocker, a(), [6001, 6002, 6003], 6);
    const open6 = async () =>
      (await Promise.all([a, b, c].map((n) => f.connect(knocker, n(), 80, 6)))).every((r) => r === 'open');
    assert.ok(await eventually(open6, 5000), `A, B and C open for ${knocker.v6}\n${logs()}`);
    const timeout = await f.grantTimeout(b(), 'web', knocker.v6);
    assert.ok(timeout !== null && timeout <= WEB_FOR_S * 1000, `B holds ${knocker.v6}: ${timeout} ms`);
    assert.ok(await closed6(1, [b, c]), "another client's IPv6 address stays closed");
    assert.ok(await closedOn(0, 80, [b, c]), "the knocker's IPv4 address stays closed");
    assert.ok(await eventually(() => closed6(0, [a, b, c]), (WEB_FOR_S + 6) * 1000), `all three close\n${logs()}`);
  });

  test('a web knock on B opens A and C (ssh gets in on all three)', async () => {
    const client = f.lab.clients[1];
    const before = await f.sshd[0].ssh(client, { target: a().host.v4, connectTimeoutS: 2 });
    assert.equal(before.ok, false, 'ssh to A is closed before the knock');
    const r = await sesame(f.lab, client, ['knock', '--http', `http://${b().host.v4}:8443`, 'ssh', '-c', b().config]);
    assert.equal(r.code, 0, r.stderr);
    for (const [i, n] of [a, b, c].entries()) {
      const ok = await eventually(
        async () => (await f.sshd[i].ssh(client, { target: n().host.v4, connectTimeoutS: 3 })).ok,
        8000,
      );
      assert.ok(ok, `ssh to node ${n().name} after the web knock on B`);
    }
  });

  test('an SPA packet on C opens A and B for its address', async () => {
    const client = f.lab.clients[1];
    assert.ok(await closedOn(1, 8090, [a, b, c]), 'closed everywhere before the packet');
    const r = await sesame(f.lab, client, [
      'knock',
      '--spa',
      c().host.v4,
      '-A',
      'tcp/8090',
      '--keys',
      `${f.dir}/spa.keys`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(await eventually(() => opensOn(1, 8090, [a, b, c]), 5000), `open on A, B and C\n${logs()}`);
    assert.equal(await f.curl(client, a(), 8090), 'node-a');
    assert.ok(await closedOn(0, 8090, [a, b]), 'not for another address');
  });

  test('a token used on A and replayed to B is refused', async () => {
    const token = await newToken();
    assert.match(token, /^s1\./);
    const mark = b().daemon?.output().length ?? 0;
    const sinceB = () => (b().daemon?.output() ?? '').slice(mark);
    assert.equal(await postToken(1, a(), token), '200', 'the token opens on A');
    assert.notEqual(await postToken(1, b(), token), '200', 'the same token is refused on B');
    assert.ok(
      await eventually(() => /"event":"http-refused".*"reason":"replayed"/.test(sinceB()), 3000),
      `B logs the refusal as a replay\n${logs()}`,
    );
    assert.equal(await postToken(1, b(), await newToken()), '200', 'a fresh token still opens on B');
  });

  test('a close sequence on C closes the address on A and B', async () => {
    const client = f.lab.clients[0];
    await f.knock(client, a(), [6001, 6002, 6003]);
    assert.ok(
      await eventually(() => opensOn(0, 80, [a, b, c]), 5000),
      `open everywhere after the knock on A\n${logs()}`,
    );
    await f.knock(client, c(), [6101, 6102]);
    assert.ok(
      await eventually(() => closedOn(0, 80, [a, b, c]), 5000),
      `closed everywhere after the close on C\n${logs()}`,
    );
  });

  test('a door with fleet: false stays local', async () => {
    const client = f.lab.clients[0];
    await f.knock(client, a(), [6401, 6402]);
    assert.ok(
      await eventually(async () => (await f.grantTimeout(a(), 'solo', client.v4)) !== null, 5000),
      'A holds it',
    );
    // positive control, and the point by which B and C would have had it: a fleet door knocked
    // after it reaches them, and they read the stream in order
    await f.knock(client, a(), [6001, 6002, 6003]);
    for (const n of [b, c])
      assert.ok(
        await eventually(async () => (await f.grantTimeout(n(), 'web', client.v4)) !== null, 5000),
        `${n().name} got the fleet door knocked after it\n${logs()}`,
      );
    assert.equal(await f.grantTimeout(b(), 'solo', client.v4), null, 'B never got the local door');
    assert.equal(await f.grantTimeout(c(), 'solo', client.v4), null, 'C never got the local door');
  });

  test('a message written straight into Redis with a bad signature, an unknown door or a lifetime beyond `for` opens nothing and is logged', async () => {
    const victim = f.lab.clients[1].v4;
    const now = Date.now();
    const sign = (door: Door, issuedAt: number, expiresAt: number, key = f.fleetKey) =>
      signFleetMessage(key, CLUSTER, fleetMessage('grant', door, victim, 'mallory', issuedAt, expiresAt));
    const forged = [
      sign(webDoor(), now, now + 5000, Buffer.from('not the fleet key, but 32 bytes.')),
      sign({ ...webDoor(), name: 'nosuchdoor' }, now, now + 5000),
      sign(webDoor(3_600_000), now, now + 3_600_000),
    ];
    for (const m of forged) await f.redisCli(['XADD', `sesame:${CLUSTER}:events`, '*', 'm', m]);
    await f.redisCli(['SET', `sesame:${CLUSTER}:grant:web:${victim}`, forged[2], 'PX', '60000']);
    for (const n of [a, b, c]) {
      const logged = await eventually(
        () =>
          ['bad-signature', 'unknown-door', 'lifetime-beyond-for'].every((r) =>
            new RegExp(`"event":"fleet-dropped".*"reason":"${r}"`).test(n().daemon?.output() ?? ''),
          ),
        5000,
      );
      assert.ok(logged, `node ${n().name} logs every drop:\n${n().daemon?.output()}`);
    }
    assert.ok(await closedOn(1, 80, [a, b, c]), 'nothing opened for the forged address');
    // a made-up node: an unsigned heartbeat is dropped, logged, and not shown by `sesame status`
    const fake = JSON.stringify({ name: 'mallory', at: Date.now(), published: 1, received: 1 });
    await f.redisCli(['SET', `sesame:${CLUSTER}:node:mallory`, fake, 'PX', '60000']);
    assert.ok(
      await eventually(() => /"event":"fleet-dropped".*"what":"heartbeat"/.test(a().daemon?.output() ?? ''), 8000),
      `A logs the forged heartbeat\n${logs()}`,
    );
    const status = (await sesame(f.lab, a().host, ['status', '--state-dir', a().dir])).stdout;
    assert.match(status, /^\s+b\s+last heartbeat/m, 'signed heartbeats still show');
    assert.doesNotMatch(status, /mallory/, 'the forged node does not');
    // positive control: the same path with a good message opens
    const later = Date.now();
    await f.redisCli(['XADD', `sesame:${CLUSTER}:events`, '*', 'm', sign(webDoor(), later, later + 5000)]);
    assert.ok(
      await eventually(() => opensOn(1, 80, [a, b, c]), 5000),
      `a signed message through the same path opens\n${logs()}`,
    );
    assert.ok(await eventually(() => closedOn(1, 80, [a, b, c]), 10_000));
  });

  test('node C started after a grant on A applies it with the remaining time', async () => {
    const client = f.lab.clients[0];
    await f.wipeNode(c());
    await f.knock(client, a(), [6301, 6302, 6303]);
    const knockedAt = Date.now();
    assert.ok(await eventually(() => opensOn(0, 8080, [a, b]), 5000));
    // the behaviour under test: time passes, so the remaining time differs from a fresh 40 s
    await sleep(2000);
    const startedAt = Date.now();
    await f.startNode(c());
    assert.ok(await eventually(() => opensOn(0, 8080, [c]), 8000), `C opens after it starts\n${logs()}`);
    assert.equal(await f.curl(client, c(), 8080), 'node-c');
    assert.ok(await closedOn(1, 8080, [c]), 'only for the knocker');
    const timeout = await f.grantTimeout(c(), 'admin', client.v4);
    // the grant began before knockedAt and C applied it after startedAt (nft shows whole seconds)
    const remaining = 40_000 - (startedAt - knockedAt);
    assert.ok(
      timeout !== null && timeout > 0 && timeout <= remaining + 1000,
      `C applied the remaining time (at most ${remaining} ms), not a fresh 40 s: ${timeout} ms`,
    );
  });

  test('redis-server killed: A still opens locally, B and C keep what they had; back: new grants propagate and the outage grant arrives', async () => {
    const [c0, c1] = f.lab.clients;
    await f.knock(c0, a(), [6001, 6002, 6003]);
    assert.ok(await eventually(() => opensOn(0, 80, [a, b, c]), 5000), 'open everywhere before the outage');
    await f.killRedis();
    assert.ok(await opensOn(0, 80, [b, c]), `B and C keep the grant they had\n${logs()}`);
    for (const n of [a, b, c])
      assert.ok(
        await eventually(() => /fleet-disconnected/.test(n().daemon?.output() ?? ''), 5000),
        `${n().name} logs the outage`,
      );
    // a new knock on A during the outage opens A at once
    await f.knock(c1, a(), [6301, 6302, 6303]);
    assert.ok(await eventually(() => opensOn(1, 8080, [a]), 3000), 'A opens locally with Redis down');
    assert.ok(await closedOn(1, 8080, [b, c]), 'B and C have not heard of the outage grant yet');
    assert.ok(await eventually(() => closedOn(0, 80, [b, c]), (WEB_FOR_S + 6) * 1000), 'and it ends on time there');
    await f.startRedis();
    assert.ok(
      await eventually(() => opensOn(1, 8080, [b, c]), 15_000),
      `the outage grant of A reaches B and C\n${logs()}`,
    );
    await f.knock(c0, b(), [6001, 6002, 6003]);
    assert.ok(await eventually(() => opensOn(0, 80, [a, c]), 5000), `new grants propagate again\n${logs()}`);
  });

  test('replay: shared-only: with Redis down C refuses token knocks and logs it while A falls back to its own journal; Redis back, C accepts again', async () => {
    assert.equal(await postToken(1, c(), await newToken()), '200', 'with Redis up, a token opens on C');
    const mark = f.nodes.map((n) => (n.daemon?.output() ?? '').length);
    const since = (i: number) => (f.nodes[i].daemon?.output() ?? '').slice(mark[i]);
    await f.killRedis();
    try {
      assert.ok(await eventually(() => /fleet-disconnected/.test(since(2)), 5000), `C notices the outage\n${logs()}`);
      assert.notEqual(await postToken(1, c(), await newToken()), '200', 'C refuses a fresh token with Redis down');
      assert.ok(
        await eventually(() => /"event":"replay".*"mode":"shared-only"/.test(since(2)), 3000),
        `C logs why\n${logs()}`,
      );
      // positive control: the same kind of token on A (replay: shared) is accepted, and A says so
      assert.ok(await eventually(() => /fleet-disconnected/.test(since(0)), 5000), `A notices the outage\n${logs()}`);
      assert.equal(await postToken(1, a(), await newToken()), '200', 'A accepts it, checked on A only');
      assert.ok(/"event":"replay".*"mode":"local-fallback"/.test(since(0)), `A logs the fallback\n${logs()}`);
    } finally {
      await f.startRedis();
    }
    assert.ok(
      await eventually(async () => (await postToken(1, c(), await newToken())) === '200', 15_000, 500),
      `C accepts tokens again once Redis is back\n${logs()}`,
    );
  });
});
