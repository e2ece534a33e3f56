import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Door } from '../../src/core/door.js';
import { fleetMessage, signFleetMessage } from '../../src/core/fleet-message.js';
import { sesame } from '../../src/lab/processes.js';
import { CLUSTER, type FleetLab, type FleetNodeLab, fleetLab } from './fleet-lab.js';
import { e2eSkip, eventually, sleep } from './support.js';

const WEB_FOR_S = 6;
const DOORS = `doors:
  web:
    knock: [6001, 6002, 6003]
    within: 10s
    open: [80]
    for: ${WEB_FOR_S}s
`;
const PROXY_PORT = 6390;

/**
 * A RESP proxy on B's loopback, in B's namespace, to the lab's redis-server: every `TIME`
 * reply (an array of two bulk strings, 10-digit seconds and microseconds) has its seconds
 * shifted by the number in `shiftFile`, read at each reply. Nothing else is changed.
 */
const PROXY = `
const net = require('net'), fs = require('fs');
const [shiftFile, target, port] = process.argv.slice(1);
const shift = () => Number(fs.readFileSync(shiftFile, 'utf8')) || 0;
const TIME = /\\*2\\r\\n\\$10\\r\\n(\\d{10})\\r\\n\\$(\\d)\\r\\n(\\d{1,6})\\r\\n/g;
net.createServer((client) => {
  const server = net.connect(6379, target);
  client.pipe(server);
  server.on('data', (d) => {
    const s = shift();
    const text = d.toString('latin1');
    client.write(s === 0 ? d : Buffer.from(text.replace(TIME, (_m, sec, n, us) =>
      '*2\\r\\n$10\\r\\n' + String(Number(sec) + s).padStart(10, '0') + '\\r\\n$' + n + '\\r\\n' + us + '\\r\\n'), 'latin1'));
  });
  const end = () => { client.destroy(); server.destroy(); };
  client.on('error', end); server.on('error', end); client.on('close', end); server.on('close', end);
}).listen(Number(port), '127.0.0.1', () => console.log('proxy ready'));
`;

const skip = e2eSkip({ 'redis-server': 'redis-server', 'redis-cli': 'redis-tools', sshd: 'openssh-server' });

/**
 * Flaw 3 of the third hardening round: freshness was judged against Redis's TIME only, so an
 * on-path proxy rewinding TIME on a plain redis:// link made a node re-apply ended grants.
 */
describe('fleet clock: a node behind a proxy that shifts Redis TIME', { skip }, () => {
  let f: FleetLab;
  let proxy: ChildProcess | undefined;
  let shiftFile = '';
  const [a, b, c] = [0, 1, 2].map((i) => () => f.nodes[i]);
  const open80 = async (nodes: (() => FleetNodeLab)[]) =>
    (await Promise.all(nodes.map((n) => f.connect(f.lab.clients[0], n(), 80)))).map((r) => r === 'open');
  const allOpen = async (nodes: (() => FleetNodeLab)[]) => (await open80(nodes)).every(Boolean);
  const allClosed = async (nodes: (() => FleetNodeLab)[]) => (await open80(nodes)).every((o) => !o);
  const logs = () =>
    f.nodes.map((n) => `--- ${n.name}\n${(n.daemon?.output() ?? '').split('\n').slice(-15).join('\n')}`).join('\n');
  const shiftTime = (seconds: number) => writeFileSync(shiftFile, String(seconds));
  const outputOf = (n: FleetNodeLab) => n.daemon?.output() ?? '';
  const webDoor: Door = {
    kind: 'sequence',
    name: 'web',
    knock: { ports: [], flags: { set: ['syn'], clear: [] }, withinMs: 10_000 },
    open: [{ port: 80, proto: 'tcp' }],
    forMs: WEB_FOR_S * 1000,
    reply: 'drop',
  } as Door;

  before(async () => {
    f = await fleetLab(DOORS, {
      clients: 1,
      redisUrl: (name) => (name === 'b' ? `redis://127.0.0.1:${PROXY_PORT}/0` : undefined),
    });
    shiftFile = join(f.dir, 'time-shift');
    shiftTime(0);
    await f.startRedis();
    proxy = f.lab.spawn(b().host, process.execPath, ['-e', PROXY, shiftFile, f.redisHost.v4, String(PROXY_PORT)]);
    let said = '';
    proxy.stdout?.on('data', (d) => (said += d));
    const ready = await eventually(() => /proxy ready/.test(said), 5000);
    assert.ok(ready, 'the TIME proxy listens on B');
    for (const n of f.nodes) await f.startNode(n);
    for (const n of f.nodes) assert.ok(await eventually(() => /fleet-catch-up/.test(outputOf(n)), 10_000), outputOf(n));
  });
  after(() => {
    proxy?.kill('SIGKILL');
    f?.destroy();
  });

  test('flaw 3: a Redis TIME shifted by a proxy revives no ended grant, and past the bound is refused and logged', async () => {
    const client = f.lab.clients[0];
    const knockedAt = Date.now();
    await f.knock(client, a(), [6001, 6002, 6003]);
    assert.ok(await eventually(() => allOpen([a, b, c]), 5000), `open everywhere through the proxy\n${logs()}`);
    // what someone who can read Redis copies
    const copied = await f.redisCli(['GET', `sesame:${CLUSTER}:grant:web:${client.v4}`]);
    assert.match(copied, /^f1\./);
    assert.ok(await eventually(() => allClosed([a, b, c]), (WEB_FOR_S + 4) * 1000), `ended everywhere\n${logs()}`);
    await sleep(1000);

    // within the bound: TIME 20 s back makes the ended grant look live on B's fleet clock
    shiftTime(-20);
    await f.killNode(b());
    await f.startNode(b());
    assert.ok(await eventually(() => /fleet-catch-up/.test(outputOf(b())), 10_000), logs());
    assert.match(outputOf(b()), /"event":"fleet-connected".*"clock_offset_ms":-(19|20|21)\d{3}/, 'B took the shift');
    // issued about knockedAt, it ended 6 s later: on a clock 20 s behind it is live (and not from
    // the future) from 15 s to 26 s after the knock
    await sleep(Math.max(0, knockedAt + 16_000 - Date.now()));
    await f.redisCli(['XADD', `sesame:${CLUSTER}:events`, '*', 'm', copied]);
    await sleep(1500);
    assert.ok(await allClosed([b]), `the ended grant stays ended on B\n${logs()}`);
    assert.match(outputOf(b()), /"event":"fleet-dropped".*"reason":"expired"/);

    // past the bound (30 s by default): refused and logged
    shiftTime(-80);
    assert.ok(
      await eventually(
        () => /"level":"error","event":"fleet-clock-offset".*"offset_ms":-(79|80|81)\d{3}/.test(outputOf(b())),
        8000,
      ),
      `B logs the offset\n${logs()}`,
    );
    const now = Date.now();
    const fresh = (from: number) =>
      signFleetMessage(f.fleetKey, CLUSTER, fleetMessage('grant', webDoor, client.v4, 'mallory', from, from + 5000));
    await f.redisCli(['XADD', `sesame:${CLUSTER}:events`, '*', 'm', fresh(now)]);
    assert.ok(
      await eventually(() => allOpen([a, c]), 5000),
      `A and C, on a true clock, apply a fresh grant\n${logs()}`,
    );
    assert.ok(await allClosed([b]), 'B refuses every message while the offset is past the bound');
    assert.match(outputOf(b()), /"event":"fleet-dropped".*"reason":"clock-offset"/);
    const status = (await sesame(f.lab, b().host, ['status', '--state-dir', b().dir])).stdout;
    assert.match(status, /CLOCK: redis TIME is -\d+ ms from this node's clock/, `sesame status says so\n${status}`);

    // positive control: TIME true again, B applies fleet messages again
    shiftTime(0);
    assert.ok(
      await eventually(() => /"event":"fleet-clock-offset".*"state":"within"/.test(outputOf(b())), 8000),
      logs(),
    );
    await f.redisCli(['XADD', `sesame:${CLUSTER}:events`, '*', 'm', fresh(Date.now())]);
    assert.ok(await eventually(() => allOpen([b]), 5000), `B applies again\n${logs()}`);
  });
});
