import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectFrom, sesame } from '../../src/lab/processes.js';
import { makeKeys, type SpaLab, spaLab } from './spa-lab.js';
import { e2eSkip, eventually, tempDir } from './support.js';

const skip = e2eSkip({ fwknop: 'fwknop-client', socat: 'socat', sshd: 'openssh-server', ssh: 'openssh-client' });
const keysDir = tempDir('sesame-spa-keys-');
// stanza 1 requires the address inside the packet; stanza 2 (other keys) takes -s
const K1 = makeKeys(keysDir, 'k1');
const K2 = makeKeys(keysDir, 'k2');
const OTHER = makeKeys(keysDir, 'other');
const ACCESS = [
  '# fwknopd access.conf, read as it is',
  'SOURCE                  ANY',
  `KEY_BASE64              ${K1.key}`,
  `HMAC_KEY_BASE64         ${K1.hmac}`,
  'OPEN_PORTS              tcp/22, tcp/2222',
  'RESTRICT_PORTS          tcp/2222',
  'REQUIRE_SOURCE_ADDRESS  Y',
  'MAX_FW_TIMEOUT          20',
  '',
  'SOURCE                  ANY',
  `KEY_BASE64              ${K2.key}`,
  `HMAC_KEY_BASE64         ${K2.hmac}`,
  'OPEN_PORTS              tcp/22',
  'REQUIRE_SOURCE_ADDRESS  N',
  '',
].join('\n');

describe('SPA doors: the stock fwknop client against sesame serve --fwknop-access', { skip }, () => {
  let s: SpaLab;
  before(async () => {
    s = await spaLab(ACCESS, ['fwknop1', 'fwknop2']);
  });
  after(() => s?.destroy());

  const c0 = () => s.lab.clients[0];
  const c1 = () => s.lab.clients[1];
  const port22 = (client = c0(), timeoutMs = 900) => connectFrom(s.lab, client, s.lab.server.v4, 22, timeoutMs);

  test('fwknop -A tcp/22 -a <client> opens sshd for that address only, and an ssh started right after gets in', async () => {
    await s.flush();
    assert.equal((await port22()).result, 'timeout', 'port 22 is hidden before the packet');
    const r = await s.fwknop(c0(), K1, ['-A', 'tcp/22', '-a', c0().v4]);
    assert.equal(r.code, 0, r.out);
    const ssh = await s.sshd.ssh(c0(), { connectTimeoutS: 5, options: ['ConnectionAttempts=1'] });
    assert.ok(ssh.ok, ssh.stderr);
    assert.equal((await port22()).result, 'open', 'the same probe sees the port open for the sender');
    assert.equal((await port22(c1())).result, 'timeout', 'another address stays shut out');
    const g = await s.grants('fwknop1');
    assert.deepEqual(
      g.map((x) => [x.address, x.port]),
      [[c0().v4, { proto: 'tcp', port: 22 }]],
    );
  });

  test('-P tcp and -P http work too', async () => {
    for (const [proto, extra] of [
      ['tcp', []],
      ['http', ['-p', '8080']],
    ] as const) {
      await s.flush();
      const r = await s.fwknop(c1(), K1, ['-A', 'tcp/22', '-a', c1().v4, '-P', proto, ...extra]);
      assert.equal(r.code, 0, r.out);
      assert.equal((await port22(c1(), 1500)).result, 'open', `-P ${proto}`);
    }
  });

  test('-s is refused with REQUIRE_SOURCE_ADDRESS Y and accepted without it', async () => {
    await s.flush();
    const before = s.refusals('source-required');
    await s.fwknop(c0(), K1, ['-A', 'tcp/22', '-s']);
    await s.refusedAgain('source-required', before);
    assert.deepEqual(await s.grants('fwknop1'), []);
    assert.equal((await port22()).result, 'timeout');
    await s.fwknop(c0(), K2, ['-A', 'tcp/22', '-s']);
    assert.equal((await port22(c0(), 1500)).result, 'open');
    assert.deepEqual(
      (await s.grants('fwknop2')).map((g) => g.address),
      [c0().v4],
    );
  });

  test('the same packet sent again is refused: at once, after a restart and after kill -9', async () => {
    await s.flush();
    const file = join(s.dir, 'saved.pkt');
    const r = await s.fwknop(c0(), K1, ['-A', 'tcp/22', '-a', c0().v4, '-f', '2', '--save-packet', file]);
    assert.equal(r.code, 0, r.out);
    assert.equal((await port22(c0(), 1500)).result, 'open', 'the original packet opens');
    assert.ok(await eventually(async () => (await s.grants('fwknop1')).length === 0, 6000), 'grant expired');

    let n = s.refusals('replayed');
    await s.sendUdp(c0(), file);
    n = await s.refusedAgain('replayed', n);
    assert.deepEqual(await s.grants('fwknop1'), []);

    s.daemon.kill('SIGTERM');
    await new Promise((r) => s.daemon.once('exit', r));
    await s.startDaemon();
    await s.sendUdp(c0(), file);
    await s.refusedAgain('replayed', 0);
    assert.deepEqual(await s.grants('fwknop1'), []);

    // kill -9 right after a packet was accepted: its journal line is already written
    const fresh = join(s.dir, 'fresh.pkt');
    await s.fwknop(c0(), K1, ['-A', 'tcp/22', '-a', c0().v4, '-f', '2', '--save-packet', fresh]);
    assert.ok(await eventually(async () => (await s.grants('fwknop1')).length === 1, 3000));
    s.daemon.kill('SIGKILL');
    await new Promise((r) => s.daemon.once('exit', r));
    await s.startDaemon();
    assert.ok(await eventually(async () => (await s.grants('fwknop1')).length === 0, 6000));
    await s.sendUdp(c0(), fresh);
    await s.refusedAgain('replayed', 0);
    await s.sendUdp(c0(), file);
    await s.refusedAgain('replayed', 1);
    assert.deepEqual(await s.grants('fwknop1'), []);
  });

  test('wrong keys, an old packet, ports outside OPEN_PORTS or inside RESTRICT_PORTS are refused with the reason', async () => {
    await s.flush();
    const cases: [string, typeof K1, string[]][] = [
      ['bad-hmac', { ...K1, hmac: OTHER.hmac }, ['-A', 'tcp/22', '-a', c0().v4]],
      ['undecryptable', { ...K1, key: OTHER.key }, ['-A', 'tcp/22', '-a', c0().v4]],
      ['too-old', K1, ['-A', 'tcp/22', '-a', c0().v4, '--time-offset-minus', '10min']],
      ['ports-refused', K1, ['-A', 'tcp/80', '-a', c0().v4]],
      ['ports-refused', K1, ['-A', 'tcp/2222', '-a', c0().v4]],
    ];
    for (const [reason, keys, args] of cases) {
      const before = s.refusals(reason);
      const r = await s.fwknop(c0(), keys, args);
      assert.equal(r.code, 0, r.out);
      await s.refusedAgain(reason, before);
    }
    assert.deepEqual(await s.grants('fwknop1'), []);
    assert.deepEqual(await s.grants('fwknop2'), []);
    assert.equal((await port22()).result, 'timeout');
    // positive control: a good packet from the same client opens the same port
    await s.fwknop(c0(), K1, ['-A', 'tcp/22', '-a', c0().v4]);
    assert.equal((await port22(c0(), 1500)).result, 'open', 'a good packet opens');
  });

  test('garbage, truncated and 1,500+ byte packets are refused with the reason', async () => {
    await s.flush();
    const good = join(s.dir, 'good.pkt');
    await s.fwknop(c0(), K1, ['-A', 'tcp/22', '-a', c0().v4, '--save-packet', good, '--test']);
    const packet = readFileSync(good, 'utf8').trim();
    const files: [string, string][] = [
      ['not-spa', 'GET / HTTP/1.0 garbage garbage\n'],
      ['not-spa', packet.slice(0, 100)],
      ['bad-hmac', packet.slice(0, packet.length - 20)],
      ['not-spa', 'A'.repeat(1600)],
    ];
    for (const [i, [reason, body]] of files.entries()) {
      const f = join(s.dir, `bad${i}.pkt`);
      writeFileSync(f, body);
      const before = s.refusals(reason);
      await s.sendUdp(c0(), f);
      await s.refusedAgain(reason, before);
    }
    assert.deepEqual(await s.grants('fwknop1'), []);
    // the positive control: the untouched packet (never sent) still opens
    await s.sendUdp(c0(), good);
    assert.equal((await port22(c0(), 1500)).result, 'open');
  });

  test('the requested lifetime is honoured and capped, and the kernel expires it with the daemon killed', async () => {
    await s.flush();
    await s.fwknop(c0(), K1, ['-A', 'tcp/22', '-a', c0().v4, '-f', '7']);
    await s.fwknop(c1(), K1, ['-A', 'tcp/22', '-a', c1().v4, '-f', '3600']);
    const g = await eventually(async () => {
      const l = await s.grants('fwknop1');
      return l.length === 2 ? l : null;
    });
    assert.ok(g);
    assert.equal(g.find((x) => x.address === c0().v4)?.timeoutMs, 7000);
    assert.equal(g.find((x) => x.address === c1().v4)?.timeoutMs, 20_000, 'capped by MAX_FW_TIMEOUT');

    await s.flush();
    await s.fwknop(c0(), K1, ['-A', 'tcp/22', '-a', c0().v4, '-f', '2']);
    assert.equal((await port22(c0(), 1500)).result, 'open');
    s.daemon.kill('SIGKILL');
    await new Promise((r) => s.daemon.once('exit', r));
    assert.ok(
      await eventually(async () => (await port22()).result === 'timeout', 8000, 500),
      'closed by the kernel with no daemon',
    );
    assert.deepEqual(await s.grants('fwknop1'), []);
    await s.startDaemon();
  });

  test("IPv6: sesame's own client opens for the client's IPv6 address", async () => {
    await s.flush();
    const r = await sesame(s.lab, c0(), ['knock', '--spa', s.lab.server.v6, '-A', 'tcp/22', '--keys', K1.file]);
    assert.equal(r.code, 0, r.stderr);
    const ssh = await s.sshd.ssh(c0(), { target: s.lab.server.v6, connectTimeoutS: 5 });
    assert.ok(ssh.ok, ssh.stderr);
    assert.deepEqual(
      (await s.grants('fwknop1')).map((g) => [g.family, g.address]),
      [[6, c0().v6]],
    );
    const port22v6 = async (client = c0()) => (await connectFrom(s.lab, client, s.lab.server.v6, 22, 900)).result;
    assert.equal(await port22v6(), 'open', 'the same probe sees it open for the sender');
    assert.equal(await port22v6(c1()), 'timeout', 'and closed for another address');
  });

  test('the first SYN after the packet is accepted (10 of 10, no retransmit needed)', async () => {
    let first = 0;
    for (let i = 0; i < 10; i++) {
      await s.flush();
      await s.fwknop(c0(), K1, ['-A', 'tcp/22', '-a', c0().v4]);
      // 900 ms is below TCP's 1 s SYN retransmit: only an accepted first SYN connects
      if ((await port22(c0(), 900)).result === 'open') first++;
    }
    assert.equal(first, 10);
  });
});

describe("sesame's client against the stock fwknopd", { skip: skip || e2eSkip({ fwknopd: 'fwknop-server' }) }, () => {
  test('fwknopd (iptables backend, in the namespace) accepts the packet and opens tcp/22', async () => {
    const { createLab } = await import('../../src/lab/netns.js');
    const { startEchoServer } = await import('../../src/lab/processes.js');
    const lab = createLab({ clients: 1 });
    const dir = tempDir('sesame-fwknopd-');
    try {
      const c = lab.clients[0];
      await startEchoServer(lab, lab.server, [22]);
      writeFileSync(join(dir, 'fwknopd.conf'), 'PCAP_INTF br0;\nENABLE_PCAP_PROMISC N;\n');
      writeFileSync(
        join(dir, 'access.conf'),
        `SOURCE ANY\nKEY_BASE64 ${K1.key}\nHMAC_KEY_BASE64 ${K1.hmac}\nOPEN_PORTS tcp/22\nFW_ACCESS_TIMEOUT 30\n`,
      );
      // the host's firewall is not touched: this drop and fwknopd's rules live in the namespace
      await lab.run(lab.server, 'iptables', ['-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'DROP']);
      const fwknopd = lab.spawn(lab.server, 'fwknopd', [
        '-f',
        '-i',
        'br0',
        '-c',
        join(dir, 'fwknopd.conf'),
        '-a',
        join(dir, 'access.conf'),
        '-d',
        join(dir, 'digest.cache'),
        '-p',
        join(dir, 'fwknopd.pid'),
        '-r',
        dir,
      ]);
      let out = '';
      fwknopd.stdout?.on('data', (d) => (out += d));
      fwknopd.stderr?.on('data', (d) => (out += d));
      // printed once its pcap is open ("Starting fwknopd" alone comes before that)
      assert.ok(await eventually(() => /Starting fwknopd main event loop/i.test(out), 10_000), out);
      assert.equal((await connectFrom(lab, c, lab.server.v4, 22, 900)).result, 'timeout');
      const r = await sesame(lab, c, ['knock', '--spa', lab.server.v4, '-A', 'tcp/22', '--keys', K1.file]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(await eventually(() => /Added access rule/i.test(out), 5000), out);
      // fwknopd's iptables rule lands after its pcap loop: wait for it, then connect
      assert.ok(
        await eventually(async () => (await connectFrom(lab, c, lab.server.v4, 22, 1500)).result === 'open', 5000),
      );
      fwknopd.kill('SIGTERM');
    } finally {
      lab.destroy();
    }
  });
});
