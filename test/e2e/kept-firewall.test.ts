import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sesame, waitForLine } from '../../src/lab/processes.js';
import { type DoorLab, doorLab } from './door-lab.js';
import { e2eSkip, eventually } from './support.js';

/**
 * A firewall the admin keeps beside sesame (their own nft table, iptables-nft rules) that
 * drops a door's port defeats every grant: nft runs every base chain and a drop in any is
 * final. doctor and serve must say so, and doctor's fix (grant_mark plus an accept of that
 * mark in the kept firewall) must make the knock open while the kept drop stays for everyone else.
 */
const SSH = `doors:
  ssh:
    knock: [7000, 8000, 9000]
    within: 10s
    open: [22]
    for: 5m
`;

/** One line through the stand-in service: the whole connection works, not only its handshake. */
async function exchange(l: DoorLab, client: DoorLab['server']): Promise<string> {
  const r = await l.lab.run(client, 'nc', ['-N', '-w', '3', l.server.v4, '22'], { input: 'hello\n' });
  return r.stdout.trim() === '22:hello' ? 'talks' : `no reply (nc ${r.code}: ${r.stderr.trim()})`;
}

async function doctor(l: DoorLab) {
  return sesame(l.lab, l.server, ['doctor', '-c', l.config, '--state-dir', l.dir]);
}

async function keptFirewallCase(
  l: DoorLab,
  finding: RegExp,
  fix: RegExp,
): Promise<{ before: string; after: string; allowance: string[] }> {
  const [alice, bob] = l.clients;
  const first = await doctor(l);
  assert.equal(first.code, 1, first.stdout + first.stderr);
  assert.match(first.stdout, finding);
  const allowance = fix.exec(first.stdout)?.[0].split(' ');
  assert.ok(allowance, `doctor's fix names the mark allowance:\n${first.stdout}`);

  const daemon = await l.startDaemon();
  assert.ok(await eventually(() => /"kept-firewall"/.test(daemon.output()), 5000), 'serve warns at start');
  await l.knock(alice, ['7000', '8000', '9000']);
  const before = await l.connect(alice, 22);

  // the documented allowance: sesame marks grant holders' packets, the kept firewall accepts the mark
  writeFileSync(l.config, `grant_mark: 0x10000000\n${SSH}`);
  const r = await l.lab.run(l.server, allowance[0], allowance.slice(1));
  assert.equal(r.code, 0, r.stderr);
  const reloaded = waitForLine(daemon, /"reloaded"/, 10_000);
  daemon.kill('SIGHUP');
  await reloaded;
  const second = await doctor(l);
  assert.doesNotMatch(second.stdout, finding, 'doctor sees the allowance');
  const after = await l.connect(alice, 22);
  assert.equal(await l.connect(bob, 22), 'timeout', 'the kept drop still holds for an address that never knocked');
  return { before, after, allowance };
}

describe('a firewall kept beside sesame', { skip: e2eSkip({ iptables: 'iptables' }) }, () => {
  test('a kept nft table dropping the port: doctor and serve name it; with grant_mark and its accept the knock opens', async () => {
    const l = await doorLab(SSH, { services: [22], daemon: false });
    try {
      const kept = `table inet mine {
  chain input {
    type filter hook input priority filter; policy accept;
    ct state established,related accept
    tcp dport 22 drop
  }
}
`;
      const load = await l.lab.run(l.server, 'nft', ['-f', '-'], { input: kept });
      assert.equal(load.code, 0, load.stderr);
      const r = await keptFirewallCase(
        l,
        /problem: table inet mine, chain input drops new 22\/tcp connections/,
        /nft insert rule inet mine input meta mark and 0x10000000 == 0x10000000 accept/,
      );
      assert.equal(r.before, 'timeout', 'the kept drop defeats the grant');
      assert.equal(r.after, 'open', 'with the allowance the same grant opens');
    } finally {
      l.destroy();
    }
  });

  test('doctor reads a knockd.conf and an access.conf that serve runs as they are', async () => {
    const l = await doorLab(SSH, { services: [22], daemon: false });
    try {
      for (const k of ['all', 'default'])
        await l.lab.run(l.server, 'sysctl', ['-qw', `net.ipv4.conf.${k}.rp_filter=2`]);
      const drop = await l.lab.run(l.server, 'iptables', ['-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'DROP']);
      assert.equal(drop.code, 0, drop.stderr);
      const doctorOf = (flag: string, file: string) =>
        sesame(l.lab, l.server, ['doctor', flag, file, '--state-dir', l.dir]);

      // an access.conf's ports are sesame's to open: the kept drop defeats them
      const access = join(l.dir, 'access.conf');
      const key = Buffer.alloc(32, 7).toString('base64');
      writeFileSync(
        access,
        `SOURCE ANY\nKEY_BASE64 ${key}\nHMAC_KEY_BASE64 ${Buffer.alloc(32, 9).toString('base64')}\nOPEN_PORTS tcp/22\n`,
      );
      chmodSync(access, 0o600);
      const spa = await doctorOf('--fwknop-access', access);
      assert.equal(spa.code, 1, spa.stdout + spa.stderr);
      assert.match(spa.stdout, /drops new 22\/tcp connections .* door "/);

      // a knockd.conf's commands manage the firewall themselves: no port of sesame's to check,
      // but the file is read as serve reads it (a bad line is named, a good file passes)
      const knockd = join(l.dir, 'knockd.conf');
      writeFileSync(knockd, '[openSSH]\n\tsequence = 7000,70000\n\tcommand = /bin/true\n');
      const bad = await doctorOf('--knockd-conf', knockd);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /knockd\.conf:2/);
      writeFileSync(knockd, '[openSSH]\n\tsequence = 7000,8000,9000\n\tcommand = /bin/true\n');
      const good = await doctorOf('--knockd-conf', knockd);
      assert.equal(good.code, 0, good.stdout + good.stderr);
    } finally {
      l.destroy();
    }
  });

  test('a kept iptables-nft multiport drop: doctor names it; with grant_mark and its accept the knock opens', async () => {
    const l = await doorLab(SSH, { services: [22], daemon: false });
    try {
      const drop = await l.lab.run(l.server, 'iptables', [
        '-A',
        'INPUT',
        '-p',
        'tcp',
        '-m',
        'multiport',
        '--dports',
        '22,80',
        '-j',
        'DROP',
      ]);
      assert.equal(drop.code, 0, drop.stderr);
      const r = await keptFirewallCase(
        l,
        /problem: table ip filter, chain INPUT drops new 22\/tcp connections \(IPv4; line \d+ \(-A INPUT -p tcp -m multiport --dports 22,80 -j DROP\)\)/,
        /iptables -I INPUT -m mark --mark 0x10000000\/0x10000000 -j ACCEPT/,
      );
      assert.equal(r.before, 'timeout', 'the kept drop defeats the grant');
      assert.equal(r.after, 'open', 'with the allowance the same grant opens');
    } finally {
      l.destroy();
    }
  });
  test('a kept `table inet filter` dropping 22 with no established rule: after sesame grant and the one accept doctor names, the grant holder talks, others time out', async () => {
    // Debian's /etc/nftables.conf table with a drop for ssh and nothing for established
    // traffic: every packet of a connection to 22 meets the drop, so a mark on its first
    // packet alone let the handshake through and dropped the rest (connect "open", no data)
    const l = await doorLab(`grant_mark: 0x10000000\n${SSH}`, { services: [22] });
    try {
      const kept = `table inet filter {
  chain input {
    type filter hook input priority filter; policy accept;
    tcp dport 22 drop
  }
}
`;
      const load = await l.lab.run(l.server, 'nft', ['-f', '-'], { input: kept });
      assert.equal(load.code, 0, load.stderr);
      const [alice, bob] = l.clients;
      const g = await sesame(l.lab, l.server, ['grant', 'ssh', alice.v4, '--state-dir', l.dir]);
      assert.equal(g.code, 0, g.stderr);
      assert.equal(await l.connect(alice, 22), 'timeout', 'the kept drop defeats the grant');

      const first = await doctor(l);
      assert.equal(first.code, 1, first.stdout + first.stderr);
      assert.match(first.stdout, /problem: table inet filter, chain input drops new 22\/tcp connections/);
      const line = /nft insert rule inet filter input meta mark and 0x10000000 == 0x10000000 accept/.exec(first.stdout);
      assert.ok(line, `doctor names the one-line allowance:\n${first.stdout}`);
      const args = line[0].split(' ');
      const r = await l.lab.run(l.server, args[0], args.slice(1));
      assert.equal(r.code, 0, r.stderr);

      assert.equal(await exchange(l, alice), 'talks', 'every packet of the granted connection passes the kept drop');
      assert.equal(await l.connect(bob, 22), 'timeout', 'the kept drop still holds for an address with no grant');
      const second = await doctor(l);
      assert.doesNotMatch(second.stdout, /chain input drops new 22\/tcp/, 'doctor sees the allowance');
    } finally {
      l.destroy();
    }
  });
});
