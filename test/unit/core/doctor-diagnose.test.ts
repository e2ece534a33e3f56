import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfig } from '../../../src/config/load-config.js';
import { diagnose, type HostFacts } from '../../../src/core/doctor/diagnose.js';
import { parseIptablesSave } from '../../../src/core/doctor/iptables-walk.js';
import { parseNftRuleset } from '../../../src/core/doctor/nft-walk.js';

const plan = parseConfig(
  'doors:\n  ssh:\n    knock: [7000, 8000]\n    within: 5s\n    open: [22]\n    for: 1m\n',
  'sesame.yaml',
);

/** A host with nothing wrong, to change one fact at a time. */
const clean: HostFacts = {
  plan,
  nft: null,
  legacy4: [],
  legacy6: [],
  xtables4: [],
  xtables6: [],
  listeners: [{ proto: 'tcp', port: 22 }],
  sysctl: { 'net.ipv4.conf.all.rp_filter': '2', 'net.ipv4.conf.default.rp_filter': '2' },
  nflogGroups: [],
  stateDir: { path: '/var/lib/sesame', exists: true, writable: true, mode: 0o40700 },
  secrets: [],
};

const problems = (f: HostFacts) => diagnose(f).filter((x) => x.severity === 'problem');

describe('doctor: judging host facts', () => {
  test('a clean host has no problems', () => {
    assert.deepEqual(problems(clean), []);
  });

  test('iptables-legacy rules that drop ssh are found, though nft never shows them', () => {
    const legacy4 = parseIptablesSave(
      '*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -s 192.0.2.1/32 -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT\nCOMMIT\n',
    );
    const [p] = problems({ ...clean, legacy4 });
    assert.match(p.text, /iptables-legacy filter INPUT drops new 22\/tcp connections \(IPv4; policy DROP\)/);
    assert.match(p.fix, /iptables-legacy -I INPUT -p tcp --dport 22 -j ACCEPT/);
  });

  test('a legacy rule that accepts ssh before the policy drop is no problem (positive control)', () => {
    const legacy4 = parseIptablesSave(
      '*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT\nCOMMIT\n',
    );
    assert.deepEqual(problems({ ...clean, legacy4 }), []);
  });

  test('the NFLOG group held by another program is a problem; held by sesame itself it is not', () => {
    const [p] = problems({ ...clean, nflogGroups: [{ group: 7331, holder: '/usr/sbin/ulogd -d' }] });
    assert.match(p.text, /NFLOG group 7331 is already bound by "\/usr\/sbin\/ulogd -d"/);
    assert.match(p.fix, /nflog_group/);
    assert.deepEqual(
      problems({ ...clean, nflogGroups: [{ group: 7331, holder: 'node /usr/bin/sesame serve -c x' }] }),
      [],
    );
    assert.deepEqual(problems({ ...clean, nflogGroups: [{ group: 1, holder: 'ulogd' }] }), [], 'another group');
  });

  test('a state dir that is not writable, and a group-readable secret', () => {
    const found = problems({
      ...clean,
      stateDir: { path: '/var/lib/sesame', exists: true, writable: false, mode: 0o40700 },
      secrets: [{ path: '/etc/sesame/k', what: 'door "w"\'s secret', mode: 0o100640, uid: 0 }],
    });
    assert.equal(found.length, 2);
    assert.match(found[0].text, /state dir \/var\/lib\/sesame is not writable/);
    assert.match(found[1].text, /\/etc\/sesame\/k is readable by its group \(mode 640\)/);
  });

  test('without a config only host-wide checks run', () => {
    assert.deepEqual(problems({ ...clean, plan: null, listeners: [] }), []);
  });

  test('a fleet whose Redis has no password and no TLS is noted; with both, nothing is', () => {
    const base = plan.fleet;
    assert.equal(base, undefined);
    const fleet = {
      redis: { host: '198.18.0.5', port: 6379, db: 0, tls: false },
      cluster: 'c',
      node: 'a',
      keyFile: '/etc/sesame/fleet.key',
      replay: 'shared' as const,
      streamLength: 10_000,
      maxClockOffsetMs: 30_000,
    };
    const notes = (f: typeof fleet & { passwordFile?: string }) =>
      diagnose({ ...clean, plan: { ...plan, fleet: f } })
        .filter((x) => x.text.startsWith('fleet:'))
        .map((x) => `${x.severity} ${x.text.split(':')[2]?.trim().split(' ').slice(0, 4).join(' ')}`);
    const weak = diagnose({ ...clean, plan: { ...plan, fleet } }).filter((x) => x.text.startsWith('fleet:'));
    assert.equal(weak.length, 2);
    assert.match(weak[0].text, /without a password/);
    assert.match(weak[1].text, /without TLS/);
    assert.ok(weak.every((x) => x.severity === 'note'));
    assert.deepEqual(
      notes({ ...fleet, passwordFile: '/etc/sesame/redis.pass', redis: { ...fleet.redis, tls: true } }),
      [],
    );
  });

  /** A kept table whose input chain accepts grant_mark, then drops ssh, at `prio` on `hook`. */
  const keptTable = (hook: string, prio: number) =>
    parseNftRuleset(
      JSON.stringify({
        nftables: [
          { table: { family: 'inet', name: 'mine', handle: 1 } },
          {
            chain: {
              family: 'inet',
              table: 'mine',
              name: 'in',
              handle: 1,
              type: 'filter',
              hook,
              prio,
              policy: 'accept',
            },
          },
          {
            rule: {
              family: 'inet',
              table: 'mine',
              chain: 'in',
              handle: 2,
              expr: [
                { match: { op: '==', left: { '&': [{ meta: { key: 'mark' } }, 0x10000000] }, right: 0x10000000 } },
                { accept: null },
              ],
            },
          },
          {
            rule: {
              family: 'inet',
              table: 'mine',
              chain: 'in',
              handle: 3,
              expr: [
                { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 22 } },
                { drop: null },
              ],
            },
          },
        ],
      }),
    );
  const marked = { ...plan, grantMark: 0x10000000 };

  test('a kept chain after sesame (priority filter) that accepts grant_mark lets grants through: no problem', () => {
    assert.deepEqual(problems({ ...clean, plan: marked, nft: keptTable('input', 0) }), []);
  });

  test('regression: a kept chain before sesame (priority filter - 10, or prerouting) never sees grant_mark, so its accept of the mark is no allowance', () => {
    // the walk gave every chain the marked probe: doctor said nothing while every grant was dropped
    for (const [hook, prio] of [
      ['input', -10],
      ['input', -5],
      ['prerouting', 0],
    ] as const) {
      const [p] = problems({ ...clean, plan: marked, nft: keptTable(hook, prio) });
      assert.ok(p, `${hook} ${prio}: a problem`);
      assert.match(p.text, /table inet mine, chain in drops new 22\/tcp connections/);
      assert.match(p.fix, /move that drop to a chain on hook input with priority filter or later/);
    }
  });

  test('grant_mark may not use the conntrack bit shared-port doors keep (0x40000000)', () => {
    assert.throws(
      () =>
        parseConfig(
          `grant_mark: 0x5e5a0000\n${'doors:\n  ssh: {knock: [7000, 8000], open: [22], for: 1m}\n'}`,
          'sesame.yaml',
        ),
      /sesame\.yaml:1:13 grant_mark: bit 0x40000000 is sesame's own conntrack mark/,
    );
  });
});
