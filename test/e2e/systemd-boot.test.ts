import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectFrom } from '../../src/lab/processes.js';
import { type ContainerLab, containerSkip, SHARE, startContainerLab } from './container-lab.js';
import { eventually } from './support.js';

/**
 * sesame.service as an admin runs it: a Debian 12 container booted by its own systemd
 * (systemd-nspawn, never the host's systemd), the built .deb installed with apt, the door
 * written to /etc/sesame/sesame.yaml, `systemctl enable --now`, and knocks from lab clients
 * outside the container. The door guards the container's own sshd (started by its systemd).
 * Then what the README and docs/operations.md promise: reload and restart keep the grant,
 * `kill -9` is restarted by Restart=, `stop` leaves the doors working in the kernel, and at
 * boot the unit loads after nftables.service (whose `flush ruleset` would otherwise wipe it)
 * and works although the interface gets its address only after sesame started.
 */
const skip = containerSkip();

const CONFIG = `doors:
  ssh:
    knock: [7000, 8000, 9000]
    within: 10s
    open: [22]
    for: 5m
`;
const ALICE = 0;
const BOB = 1;
const CAROL = 2;
const DAVE = 3;

describe('sesame.service booted by a real systemd (Debian container)', { skip }, () => {
  let cl: ContainerLab;
  before(
    async () => {
      cl = await startContainerLab({ name: 'sesame-boot', clients: 4 });
    },
    { timeout: 900_000 },
  );
  after(async () => {
    await cl?.destroy();
  });

  const ssh = async (client: number) =>
    (await connectFrom(cl.lab, cl.lab.clients[client], cl.lab.server.v4, 22, 1500)).result;
  const show = async (prop: string) => (await cl.sh(`systemctl show -p ${prop} --value sesame`)).trim();
  /** sesame's log and systemd's lines about the unit, this boot. */
  const journal = () => cl.sh('journalctl -b -u sesame -o cat --no-pager');
  /** How many times the daemon said it loaded its doors (its text log: `TIME started ...`). */
  const starts = async () => (await journal()).match(/Z started\b/g)?.length ?? 0;

  test('apt installs the .deb: the unit is there, nothing starts and nothing closes', async () => {
    await cl.sh(`apt-get install -y -q ${SHARE}/${cl.deb}`);
    assert.equal((await cl.sh('systemctl is-enabled sesame || true')).trim(), 'disabled');
    assert.equal((await cl.sh('systemctl is-active sesame || true')).trim(), 'inactive');
    assert.equal(await ssh(ALICE), 'open', "the container's sshd answers before any door");
    assert.equal((await cl.sh('nft list tables')).includes('sesame'), false, 'no table before start');
  });

  test('enable --now loads the door; a knock from outside opens ssh for the knocker only', async () => {
    await cl.sh('cat > /etc/sesame/sesame.yaml', CONFIG);
    await cl.sh('sesame check -c /etc/sesame/sesame.yaml >/dev/null');
    await cl.sh('systemctl enable --now sesame');
    assert.equal((await cl.sh('systemctl is-enabled sesame')).trim(), 'enabled');
    assert.ok(await eventually(async () => (await starts()) === 1, 20_000), await journal());
    assert.equal(await ssh(ALICE), 'timeout', 'ssh filtered before the knock');
    await cl.knock(ALICE);
    assert.equal(await ssh(ALICE), 'open', 'ssh open after the knock');
    assert.equal(await ssh(BOB), 'timeout', 'still filtered for a client that did not knock');
    assert.ok(await eventually(async () => /\bopen\b.*198\.18\.0\.10/.test(await journal())), await journal());
    assert.match(await cl.sh('sesame status'), /ssh\s+198\.18\.0\.10\s+\d+s left/);
  });

  test('reload (SIGHUP) keeps the grant and the process; a config check refuses changes nothing', async () => {
    const pid = await show('MainPID');
    await cl.sh('systemctl reload sesame');
    assert.ok(await eventually(async () => /\breloaded\b/.test(await journal()), 15_000), await journal());
    assert.equal(await show('MainPID'), pid, 'reload keeps the process');
    assert.equal(await ssh(ALICE), 'open', 'the grant survives the reload');
    assert.equal(await ssh(BOB), 'timeout');
    // a broken config: reload is refused, the loaded door and the grant stay
    await cl.sh('cat > /etc/sesame/sesame.yaml', `${CONFIG}    bogus: 1\n`);
    await cl.sh('systemctl reload sesame');
    assert.ok(await eventually(async () => /reload-rejected/.test(await journal()), 15_000), await journal());
    assert.equal(await cl.sh('systemctl is-active sesame'), 'active\n');
    assert.equal(await ssh(ALICE), 'open', 'the grant survives a refused reload');
    assert.equal(await ssh(BOB), 'timeout', 'the door still holds after a refused reload');
    await cl.sh('cat > /etc/sesame/sesame.yaml', CONFIG);
  });

  test('restart keeps the grant and the doors keep opening', async () => {
    const pid = await show('MainPID');
    await cl.sh('systemctl restart sesame');
    assert.notEqual(await show('MainPID'), pid, 'a new process');
    assert.equal(await ssh(ALICE), 'open', 'the grant survives the restart');
    assert.equal(await ssh(BOB), 'timeout', 'filtered before the knock');
    await cl.knock(BOB);
    assert.equal(await ssh(BOB), 'open', 'a knock after the restart opens');
  });

  test('kill -9 of the main process: Restart=on-failure brings it back and the doors work', async () => {
    const pid = await show('MainPID');
    const restarts = Number(await show('NRestarts'));
    await cl.sh(`kill -9 ${pid}`);
    const back = await eventually(
      async () => {
        const now = await show('MainPID');
        return now !== '0' && now !== pid && (await cl.sh('systemctl is-active sesame || true')).trim() === 'active';
      },
      20_000,
      200,
    );
    assert.ok(back, `not restarted: ${await cl.sh('systemctl status sesame --no-pager || true')}`);
    assert.equal(Number(await show('NRestarts')), restarts + 1, 'systemd counted one restart');
    assert.equal(await ssh(ALICE), 'open', 'the grant survives kill -9');
    assert.equal(await ssh(CAROL), 'timeout', 'filtered before the knock');
    // the new process loads its table and reads NFLOG before it says "started"
    assert.ok(await eventually(async () => (await starts()) === 3, 20_000), await journal());
    await cl.knock(CAROL);
    assert.equal(await ssh(CAROL), 'open', 'a knock after the restart opens');
    assert.ok(await eventually(async () => /\bopen\b.*198\.18\.0\.12/.test(await journal())), await journal());
  });

  test('stop ends the daemon cleanly and leaves the doors working in the kernel', async () => {
    await cl.sh('systemctl stop sesame');
    assert.equal((await cl.sh('systemctl is-active sesame || true')).trim(), 'inactive');
    assert.equal(await show('Result'), 'success', 'SIGTERM ends it with status 0');
    assert.equal(await show('MainPID'), '0');
    assert.match(await cl.sh('nft list tables'), /table inet sesame/, 'the doors stay in the kernel');
    assert.equal(await ssh(ALICE), 'open', 'grants stay');
    assert.equal(await ssh(DAVE), 'timeout', 'filtered before the knock, with the daemon stopped');
    await cl.knock(DAVE);
    assert.equal(await ssh(DAVE), 'open', 'the kernel still opens a knock');
    assert.doesNotMatch(await journal(), /198\.18\.0\.13/, 'nothing logs it: the daemon is stopped');
  });

  test('boot: loads after nftables.service flushed the ruleset, and works before the network has its address', async () => {
    // the host firewall of a Debian box: nftables.service with its default `flush ruleset`
    await cl.sh('systemctl enable nftables.service');
    // the interface gets its address only after sesame started (fwknop's issues #144, #307)
    await cl.sh('cat > /etc/systemd/system/lab-address.service', LATE_ADDRESS_UNIT);
    await cl.sh('systemctl enable lab-address.service');
    await cl.sh('nft delete table inet sesame');
    const ns = cl.lab.server.ns;
    const flush = await cl.lab.run(cl.lab.server, 'ip', ['addr', 'flush', 'dev', 'br0']);
    assert.equal(flush.code, 0, `${ns}: ${flush.stderr}`);
    await cl.reboot();

    assert.equal((await cl.sh('systemctl is-active sesame nftables lab-address')).trim(), 'active\nactive\nactive');
    assert.equal(await show('NRestarts'), '0', 'started once, without failing');
    const at = async (unit: string, prop: string) =>
      Number((await cl.sh(`systemctl show -p ${prop} --value ${unit}`)).trim());
    const sesameStart = await at('sesame', 'ExecMainStartTimestampMonotonic');
    assert.ok(sesameStart >= (await at('nftables', 'ActiveEnterTimestampMonotonic')), 'after nftables.service');
    assert.ok(sesameStart >= (await at('network-pre.target', 'ActiveEnterTimestampMonotonic')), 'after network-pre');
    assert.ok(sesameStart < (await at('lab-address', 'ActiveEnterTimestampMonotonic')), 'before the address');
    assert.match(await cl.sh('nft list tables'), /table inet sesame/, 'loaded at boot, after the flush');
    assert.equal(await ssh(BOB), 'timeout', 'the door holds after the boot (the old grant was flushed)');
    await cl.knock(BOB);
    assert.equal(await ssh(BOB), 'open', 'a knock opens after the boot');
    assert.ok(await eventually(async () => /\bopen\b.*198\.18\.0\.11/.test(await journal())), await journal());
  });
});

const LATE_ADDRESS_UNIT = `[Unit]
Description=lab: the server address, two seconds after sesame started
After=sesame.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'sleep 2; ip addr add 198.18.0.1/24 dev br0; ip addr add fd00:5e5a::1/64 dev br0 nodad'

[Install]
WantedBy=multi-user.target
`;
