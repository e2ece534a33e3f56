import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { Host } from '../../src/lab/netns.js';
import { connectFrom, sesame } from '../../src/lab/processes.js';
import { type DoorLab, doorLab } from './door-lab.js';
import { e2eSkip } from './support.js';

// Knocks arrive on the lab server's bridge, br0; the second NIC is a veth `eth1` on 198.19.0.0/24.
const DOOR = (nic: string) => `interface: ${nic}
doors:
  web:
    knock: [6000, 7000, 8000]
    within: 5s
    open: [80]
    for: 1m
`;
const SIDE_SERVER = '198.19.0.1';
const SIDE_HOST = '198.19.0.2';

let sides = 0;

/** A host behind a second interface of the server (`eth1`), removed with the lab. */
function addSecondNic(l: DoorLab): Host {
  const ns = `sesame-${process.pid}-nic${sides++}`;
  execFileSync('ip', ['netns', 'add', ns]);
  const side: Host = { ns, v4: SIDE_HOST, v6: '' };
  const destroy = l.destroy;
  l.destroy = () => {
    destroy();
    try {
      execFileSync('ip', ['netns', 'del', ns]);
    } catch {}
  };
  execFileSync('ip', [
    'link',
    'add',
    'eth1',
    'netns',
    l.server.ns,
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    ns,
  ]);
  execFileSync('ip', ['-n', l.server.ns, 'addr', 'add', `${SIDE_SERVER}/24`, 'dev', 'eth1']);
  execFileSync('ip', ['-n', l.server.ns, 'link', 'set', 'eth1', 'up']);
  execFileSync('ip', ['-n', ns, 'addr', 'add', `${SIDE_HOST}/24`, 'dev', 'eth0']);
  execFileSync('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  return side;
}

describe('interface doors', { skip: e2eSkip() }, () => {
  test('interface door fails open (regression): the port is hidden on every interface, knocks count on the named one', async () => {
    const l = await doorLab(DOOR('br0'), { services: [80] });
    try {
      const side = addSecondNic(l);
      const [alice] = l.clients;
      const fromSide = async () => (await connectFrom(l.lab, side, SIDE_SERVER, 80, 1000)).result;
      assert.equal(await fromSide(), 'timeout', 'closed from the second interface before any knock');
      assert.equal(await l.connect(alice, 80), 'timeout', 'closed on br0 before the knock');

      // a knock on the second interface does not count: only br0's knocks do
      const sideKnock = await sesame(l.lab, side, ['knock', SIDE_SERVER, '6000', '7000', '8000']);
      assert.equal(sideKnock.code, 0, sideKnock.stderr);
      assert.equal(await fromSide(), 'timeout', 'a knock on another interface opens nothing');

      await l.knock(alice, ['6000', '7000', '8000']);
      assert.equal(await l.connect(alice, 80), 'open', 'the knock on br0 opens for the knocker');
      assert.equal(await fromSide(), 'timeout', "alice's grant is not the side host's");

      // the same check sees the port open from the second interface once that address holds a grant
      const g = await sesame(l.lab, l.server, ['grant', 'web', SIDE_HOST, '--state-dir', l.dir]);
      assert.equal(g.code, 0, g.stderr);
      assert.equal(await fromSide(), 'open');
    } finally {
      l.destroy();
    }
  });

  test('trusted_interfaces: a LAN reaches the port without a knock, the knock interface still needs one', async () => {
    const l = await doorLab(`${DOOR('br0')}trusted_interfaces: [eth1]\n`, { services: [80] });
    try {
      const side = addSecondNic(l);
      const [alice] = l.clients;
      assert.equal((await connectFrom(l.lab, side, SIDE_SERVER, 80, 1000)).result, 'open', 'open on eth1');
      assert.equal(await l.connect(alice, 80), 'timeout', 'closed on br0 before the knock');
      await l.knock(alice, ['6000', '7000', '8000']);
      assert.equal(await l.connect(alice, 80), 'open', 'the knock on br0 opens');
    } finally {
      l.destroy();
    }
  });

  test('a config naming an interface this host lacks is refused at its line and loads nothing', async () => {
    const l = await doorLab(DOOR('ens3'), { services: [80], daemon: false });
    try {
      const check = await sesame(l.lab, l.server, ['check', '-c', l.config]);
      assert.notEqual(check.code, 0);
      assert.match(
        check.stderr,
        /sesame\.yaml:1:\d+ interface: no network interface "ens3" on this host \(it has br0, .*\)/,
      );
      const serve = await sesame(l.lab, l.server, ['serve', '-c', l.config, '--state-dir', l.dir], {
        timeoutMs: 20_000,
      });
      assert.notEqual(serve.code, 0);
      assert.match(serve.stderr, /no network interface "ens3"/);
      const table = await l.lab.run(l.server, 'nft', ['list', 'table', 'inet', 'sesame']);
      assert.notEqual(table.code, 0, 'nothing was loaded');
      assert.equal(await l.connect(l.clients[0], 80), 'open', 'the port is as it was: open, no table');

      // the same config with the interface the host has loads
      writeFileSync(l.config, DOOR('br0'));
      const ok = await sesame(l.lab, l.server, ['check', '-c', l.config]);
      assert.equal(ok.code, 0, ok.stderr);
    } finally {
      l.destroy();
    }
  });
});
