import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { newEd25519Pair } from '../../src/core/spa/ed25519-keys.js';
import { signEd25519Packet } from '../../src/core/spa/signed-sign.js';
import type { Host } from '../../src/lab/netns.js';
import { type FleetLab, fleetLab, type FleetNodeLab } from './fleet-lab.js';
import { e2eSkip, eventually } from './support.js';

/**
 * A signed SPA packet used on one fleet node is refused on another (the fleet's shared replay
 * in a real redis-server). The door keeps its grants on each node (`fleet: false`), so B's
 * port stays closed unless B itself accepts the packet.
 */

const skip = e2eSkip({ socat: 'socat', 'redis-server': 'redis-server', sshd: 'openssh-server' });
const alice = newEd25519Pair();
const DOORS = `users: ../users.yaml
doors:
  ssh:
    spa: {}
    users: [alice]
    open: [22]
    for: 30s
    fleet: false
`;

describe('signed SPA in a fleet: a packet opens once across the nodes', { skip }, () => {
  let f: FleetLab;
  const [a, b] = [() => f.nodes[0], () => f.nodes[1]];
  const client = (): Host => f.lab.clients[0];
  const send = async (node: FleetNodeLab, packet: Buffer) => {
    const file = join(f.dir, `packet-${Date.now()}-${Math.random()}`);
    writeFileSync(file, packet);
    const r = await f.lab.run(client(), 'socat', ['-u', `OPEN:${file}`, `UDP-SENDTO:${node.host.v4}:62201`]);
    assert.equal(r.code, 0, r.stderr);
  };
  const opened = (node: FleetNodeLab) =>
    eventually(async () => ((await f.connect(client(), node, 22)) === 'open' ? 'open' : ''), 5000);
  const packet = () =>
    signEd25519Packet(
      { user: 'alice', door: 'ssh', address: client().v4, lifetimeS: 0, ports: [{ proto: 'tcp', port: 22 }] },
      createPrivateKey(alice.privatePem),
    );

  before(async () => {
    f = await fleetLab(DOORS);
    try {
      writeFileSync(join(f.dir, 'users.yaml'), `users:\n  alice:\n    spa_keys: ["${alice.publicText}"]\n`, {
        mode: 0o600,
      });
      await f.startRedis();
      for (const n of [a(), b()]) {
        await f.startNode(n);
        await eventually(() => n.daemon!.output().includes('"spa-listening"'), 8000);
      }
    } catch (err) {
      f.destroy();
      throw err;
    }
  });
  after(() => f?.destroy());

  test('used on A, the same packet sent to B is refused as a replay and B stays closed', async () => {
    assert.equal(await f.connect(client(), b(), 22), 'timeout', "B's port 22 is hidden");
    const p = packet();
    await send(a(), p);
    assert.equal(await opened(a()), 'open', 'A opens for the packet');
    await send(b(), p);
    assert.ok(
      await eventually(() => /"event":"spa-refused".*"reason":"replayed"/.test(b().daemon!.output()), 8000),
      `B refuses the replay\n${b().daemon!.output().slice(-2000)}`,
    );
    assert.equal(await f.connect(client(), b(), 22), 'timeout', 'B stays closed');
    // positive control: a fresh packet of the same key opens B
    await send(b(), packet());
    assert.equal(await opened(b()), 'open');
  });
});
