import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseConfig } from '../../../src/config/load-config.js';
import type { Door } from '../../../src/core/door.js';
import { compileIptables } from '../../../src/firewall/iptables/compile.js';
import { compileNft } from '../../../src/firewall/nft/compile.js';
import { GOLDEN_DIR, goldenCases } from '../../golden-cases.js';

/**
 * Golden files: the exact ruleset texts for each example config (test/golden-cases.ts). The
 * test only compares; after an intended change run `npm run golden` and review the diff.
 */
describe('golden rulesets (nft and iptables-restore) for each example', () => {
  for (const c of goldenCases()) {
    test(c.name, () => {
      assert.equal(c.render(), readFileSync(c.file, 'utf8'), `${c.file} differs; if intended: npm run golden`);
    });
  }

  test('every door kind has a golden nft ruleset, and the kernel-only kinds an iptables one', () => {
    // a Record over the union: a new door kind fails type-checking here until it is listed
    const iptablesToo: Record<Door['kind'], boolean> = {
      sequence: true,
      'one-time': false,
      hits: true,
      shared: true,
      log: false,
      http: false,
      spa: false,
    };
    const cases = goldenCases();
    const pinned = (ext: string) => new Set(cases.filter((c) => c.file.endsWith(ext)).flatMap((c) => c.kinds()));
    const nft = pinned('.nft');
    const iptables = pinned('.iptables');
    for (const [kind, both] of Object.entries(iptablesToo)) {
      assert.ok(nft.has(kind as Door['kind']), `no golden nft ruleset has a ${kind} door`);
      if (both) assert.ok(iptables.has(kind as Door['kind']), `no golden iptables ruleset has a ${kind} door`);
    }
  });

  test('every file in test/golden is some case (none left behind by a removed example)', () => {
    const files = new Set(goldenCases().map((c) => c.file));
    const stale = readdirSync(GOLDEN_DIR).filter((f) => !files.has(join(GOLDEN_DIR, f)));
    assert.deepEqual(stale, []);
    assert.ok(files.size >= 20, 'positive control: the cases were found');
  });
});

describe('grant_mark: a firewall kept beside sesame can accept grant holders', () => {
  const plan = parseConfig(
    'grant_mark: 0x10000000\ndoors:\n  web:\n    knock: [6000, 7000]\n    open: [80]\n    for: 59s\n',
  );

  test('regression: the mark is on the connection too, so its established packets carry it (not only the first)', () => {
    // only the first packet was marked: a kept table with no established rule dropped the rest
    const nft = compileNft(plan);
    assert.match(
      nft,
      /ip saddr @web_open_4 tcp dport 80 ct mark set ct mark or 0x10000000 meta mark set meta mark or 0x10000000 accept/,
    );
    const restore = nft.indexOf(
      'ct state established,related ct mark and 0x10000000 == 0x10000000 meta mark set meta mark or 0x10000000 accept',
    );
    assert.ok(restore > 0 && restore < nft.indexOf('ct state established,related accept'), nft);
    const v4 = compileIptables(plan, 4);
    assert.match(v4, /-j CONNMARK --or-mark 0x10000000/);
    assert.match(
      v4,
      /-A SESAME -m conntrack --ctstate RELATED,ESTABLISHED -m connmark --mark 0x10000000\/0x10000000 -j MARK --or-mark 0x10000000\n-A SESAME -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN/,
    );
  });

  test('without grant_mark no mark is set anywhere', () => {
    const plain = parseConfig('doors:\n  web:\n    knock: [6000, 7000]\n    open: [80]\n    for: 59s\n');
    assert.doesNotMatch(compileNft(plain), /mark/);
    assert.doesNotMatch(compileIptables(plain, 4), /MARK|connmark/);
  });
});

describe('sequence door rules', () => {
  const ruleset = compileNft(
    parseConfig(
      'doors:\n  web:\n    knock: [6000, 7000, 8000]\n    open: [80, "53/udp"]\n    for: 59s\n    flags: syn,!ack\n',
    ),
  );

  test('the last knock adds the grant with the door timeout and logs it', () => {
    assert.match(
      ruleset,
      /tcp dport 8000 tcp flags & \(syn \| ack\) == syn ip saddr @web_k2_4 ip saddr @web_kstart_4 .*update @web_open_4 \{ ip saddr timeout 59s \} log group 7331 prefix "sesame open web" return/,
    );
  });

  test('a retransmit of the current stage is ignored, before the reset rule', () => {
    const dup = ruleset.indexOf('tcp dport 7000 tcp flags & (syn | ack) == syn ip saddr @web_k2_4 return');
    const reset = ruleset.indexOf('tcp dport { 6000, 7000, 8000 } tcp flags & (syn | ack) == syn delete @web_k1_4');
    assert.ok(dup > 0 && reset > dup);
  });

  test('protected ports: grant holders pass, every other packet (not only new connections) is dropped, per protocol', () => {
    assert.match(ruleset, /ip saddr @web_open_4 tcp dport 80 accept/);
    assert.match(ruleset, /ip6 saddr @web_open_6 udp dport 53 accept/);
    assert.match(ruleset, /\n\t\ttcp dport 80 drop\n/);
    assert.match(ruleset, /\n\t\tudp dport 53 drop\n/);
    assert.doesNotMatch(
      ruleset,
      /ct state new (tcp|udp) dport (80|53)/,
      'a FIN, NULL or Xmas probe (ct state invalid) must be dropped too',
    );
  });

  test('knock ports are only looked at, never dropped: they answer like any closed port', () => {
    assert.doesNotMatch(ruleset, /dport \{ 6000, 7000, 8000 \} (drop|reject)/);
    assert.doesNotMatch(ruleset, /dport (6000|7000|8000) (drop|reject)/);
  });

  test('regression: the default knock is a bare SYN; SYN+FIN, SYN+RST and SYN+ACK do not count', () => {
    const r = compileNft(parseConfig('doors:\n  w:\n    knock: [1, 2]\n    open: [80]\n'));
    assert.match(r, /tcp dport 2 tcp flags & \(syn \| fin \| rst \| ack\) == syn ip saddr @w_k1_4/);
    assert.doesNotMatch(r, /tcp flags & syn == syn/);
  });

  test('flood lane: a first knock that finds the first stage full waits 1 s; its sequence still ends within `within`', () => {
    const lane = ruleset.indexOf('tcp dport 6000 tcp flags & (syn | ack) == syn update @web_kq_4 { ip saddr } return');
    const normal = ruleset.indexOf('tcp dport 6000 tcp flags & (syn | ack) == syn update @web_k1_4 { ip saddr }');
    assert.ok(normal > 0 && lane > normal, 'the lane comes after the first stage, so only a failed add reaches it');
    assert.match(
      ruleset,
      /set web_kq_4 \{ type ipv4_addr; flags dynamic,timeout; timeout 1s; gc-interval 250ms; size 65536; \}/,
    );
    // 45 s within: the second knock comes at most 1 s after the first, then 44 s are left
    assert.match(ruleset, /set web_kqstart_4 \{ type ipv4_addr; flags dynamic,timeout; timeout 44s; size 65536; \}/);
    assert.match(
      ruleset,
      /tcp dport 7000 tcp flags & \(syn \| ack\) == syn ip saddr @web_kq_4 delete @web_kq_4 \{ ip saddr \} update @web_k2_4 \{ ip saddr \} update @web_kqstart_4 \{ ip saddr \} return/,
    );
    assert.match(ruleset, /ip saddr @web_k2_4 ip saddr @web_kqstart_4 .*update @web_open_4/);
    assert.match(ruleset, /tcp dport 6000 tcp flags & \(syn \| ack\) == syn ip saddr @web_kq_4 return/, 'a retransmit');
    assert.match(ruleset, /delete @web_kstart_4 \{ ip saddr \} delete @web_kq_4 \{ ip saddr \} delete @web_kqstart_4/);
    const short = compileNft(parseConfig('doors:\n  w:\n    knock: [1, 2]\n    within: 1s\n    open: [80]\n'));
    assert.doesNotMatch(short, /w_kq/, 'a `within` of 1 s needs no lane: its first stage already times out that fast');
  });

  test('every dynamic set is bounded', () => {
    const sets = ruleset.match(/^\s*set .*$/gm) ?? [];
    assert.ok(sets.length > 0);
    for (const s of sets) assert.match(s, /size 65536;/);
  });

  test('interface door fails open (regression): its ports are hidden on every interface, knocks count on the named one only', () => {
    const yaml = 'interface: eth1\ndoors:\n  w:\n    knock: [1, 2]\n    open: [80]\n';
    const r = compileNft(parseConfig(yaml, 'sesame.yaml', { checkInterface: () => null }));
    assert.match(r, /iifname "eth1" tcp dport \{ 1, 2 \} jump w_knock/);
    assert.match(
      r,
      /^\s*ip saddr @w_open_4 tcp dport 80 accept$/m,
      'a grant holder gets in on any interface, as with knockd',
    );
    assert.match(r, /^\s*tcp dport 80 drop$/m, 'the drop is on every interface (a second NIC, wg0, lo)');
    assert.doesNotMatch(r, /iifname "eth1" tcp dport 80 drop/);
  });

  test("trusted_interfaces accept the door's ports there before the drop; a door may name its own", () => {
    const yaml =
      'trusted_interfaces: [lo, eth1]\ndoors:\n  w:\n    knock: [1, 2]\n    open: [80, 22]\n  s:\n    knock: [3, 4]\n    open: [8080]\n    trusted_interfaces: []\n';
    const r = compileNft(parseConfig(yaml, 'sesame.yaml', { checkInterface: () => null }));
    const accept = r.indexOf('iifname { "lo", "eth1" } tcp dport { 22, 80 } accept');
    assert.ok(accept > 0, r);
    assert.ok(accept < r.indexOf('tcp dport { 22, 80 } drop'), 'before the drop');
    assert.doesNotMatch(r, /iifname .* tcp dport 8080 accept/, 'an empty list of its own: none');
  });

  test('TCPFlags without syn: the knock dispatch sees open connections, ahead of the established shortcut', () => {
    const yaml =
      'doors:\n  w:\n    knock: [7000, 7001]\n    flags: ack\n    open: [80]\n  s:\n    knock: [7100, 7101]\n    open: [81]\n';
    const plan = parseConfig(yaml, 'sesame.yaml', { checkInterface: () => null });
    const r = compileNft(plan);
    const early = r.indexOf('ct state established,related tcp dport { 7000, 7001 } jump w_knock');
    assert.ok(early > 0, r);
    assert.ok(early < r.indexOf('ct state established,related accept'));
    assert.doesNotMatch(r, /ct state established,related tcp dport \{ 7100/, 'a syn door: new connections only');
    assert.throws(() => compileIptables(plan, 4), /tcp flags without syn need nftables/);
  });

  test('trusted_interfaces under iptables: a RETURN per interface before the drop', () => {
    const yaml = 'trusted_interfaces: [eth1]\ndoors:\n  w:\n    knock: [1, 2]\n    open: [80]\n';
    const r = compileIptables(parseConfig(yaml, 'sesame.yaml', { checkInterface: () => null }), 4);
    const ret = r.indexOf('-i eth1 -p tcp --dport 80 -j RETURN');
    assert.ok(ret > 0, r);
    assert.ok(ret < r.indexOf('-p tcp --dport 80 -j DROP'), 'before the drop');
  });
});
