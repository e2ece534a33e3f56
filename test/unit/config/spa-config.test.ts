import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../src/config/config-error.js';
import { parseConfig } from '../../../src/config/load-config.js';
import type { SpaDoor } from '../../../src/core/door.js';
import { formatSpaKeys, parseSpaKeys } from '../../../src/core/spa/key-text.js';
import { parseGrants } from '../../../src/firewall/nftables.js';
import { compileNft } from '../../../src/firewall/nft/compile.js';

const dir = mkdtempSync(join(tmpdir(), 'sesame-spa-config-'));
const keys = join(dir, 'spa.keys');
writeFileSync(keys, formatSpaKeys({ key: Buffer.alloc(32, 1), hmacKey: Buffer.alloc(64, 2) }), { mode: 0o600 });
const file = join(dir, 'sesame.yaml');

function load(yaml: string) {
  return parseConfig(yaml, file);
}
function problems(yaml: string): string[] {
  try {
    load(yaml);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems.map((p) => `${p.line} ${p.field}: ${p.message}`);
  }
  assert.fail('expected a ConfigError');
}

describe('spa doors in sesame.yaml', () => {
  test('defaults: for 30 s, max_for 300 s, require_source on, max_age 120 s, UDP 62201', () => {
    const plan = load(`doors:\n  ssh:\n    spa: { keys: spa.keys }\n    open: [22]\n`);
    const d = plan.doors[0] as SpaDoor;
    assert.equal(d.kind, 'spa');
    assert.equal(d.forMs, 30_000);
    assert.equal(d.spa.maxTimeoutMs, 300_000);
    assert.equal(d.spa.requireSource, true);
    assert.equal(d.spa.maxAgeMs, 120_000);
    assert.deepEqual(d.spa.openPorts, [{ proto: 'tcp', port: 22 }]);
    assert.deepEqual(d.spa.key!.key, Buffer.alloc(32, 1));
    assert.deepEqual(plan.spaListen, { udp: 62201, tcp: null, http: null });
  });

  test('`hide` instead of `open`: any port may be asked for (no OPEN_PORTS), these are hidden', () => {
    const plan = load(`doors:\n  ssh:\n    spa: { keys: spa.keys }\n    hide: [22, 53/udp]\n`);
    const d = plan.doors[0] as SpaDoor;
    assert.equal(d.spa.openPorts, null);
    assert.deepEqual(d.open, [
      { proto: 'tcp', port: 22 },
      { proto: 'udp', port: 53 },
    ]);
    const both = problems(`doors:\n  ssh:\n    spa: { keys: spa.keys }\n    open: [22]\n    hide: [22]\n`);
    assert.ok(
      both.some((l) => /hide: `hide` is for doors without `open`/.test(l)),
      both.join('\n'),
    );
  });

  test('every field, and the listeners', () => {
    const plan = load(
      [
        'spa: { listen: 198.18.0.1, udp: 62201, tcp: 62201, http: 8080 }',
        'doors:',
        '  ssh:',
        '    spa:',
        '      keys: spa.keys',
        '      hmac: sha512',
        '      mode: legacy',
        '      sources: [198.18.0.0/24, "fd00:5e5a::/64"]',
        '      restrict: [23]',
        '      max_for: 10m',
        '      require_source: false',
        '      max_age: 30s',
        '      usernames: [alice, bob]',
        '    open: [22, 2222]',
        '    for: 1m',
      ].join('\n'),
    );
    const d = plan.doors[0] as SpaDoor;
    assert.equal(d.spa.key!.hmacType, 'sha512');
    assert.equal(d.spa.key!.legacy, true);
    assert.deepEqual(d.spa.sources, ['198.18.0.0/24', 'fd00:5e5a::/64']);
    assert.deepEqual(d.spa.restrictPorts, [{ proto: 'tcp', port: 23 }]);
    assert.equal(d.spa.maxTimeoutMs, 600_000);
    assert.equal(d.spa.requireSource, false);
    assert.equal(d.spa.maxAgeMs, 30_000);
    assert.deepEqual(d.spa.usernames, ['alice', 'bob']);
    assert.equal(d.forMs, 60_000);
    assert.deepEqual(plan.spaListen, { host: '198.18.0.1', udp: 62201, tcp: 62201, http: 8080 });
  });

  test('a missing or malformed key file, a missing open list and unknown fields are located', () => {
    writeFileSync(join(dir, 'bad.keys'), 'KEY_BASE64: abc\n');
    const p = problems(
      `doors:\n  a:\n    spa: { keys: nope.keys }\n    open: [22]\n  b:\n    spa: { keys: bad.keys, hmac: sha999 }\n  c:\n    spa: { keys: spa.keys, gpg: yes }\n    open: [22]\n  d:\n    spa: { keys: spa.keys }\n`,
    );
    assert.match(p.find((l) => l.includes('doors.a.spa.keys')) ?? '', /^3 .*nope.keys: file not found/);
    assert.match(p.find((l) => l.includes('doors.b.spa.keys')) ?? '', /no HMAC_KEY_BASE64 line/);
    assert.ok(p.some((l) => l.includes('doors.b.spa.hmac')));
    assert.ok(p.some((l) => /doors\.d\.open: an spa door needs `open`/.test(l)));
    assert.ok(p.some((l) => l.includes('doors.c.spa') && /gpg/.test(l)));
  });

  test('the key file format is the one fwknop --key-gen prints', () => {
    const pair = parseSpaKeys(
      'KEY_BASE64: P076n05Ahw9uI5ssmaVSdmrvagh99i8iYxSmC0BgWKk=\nHMAC_KEY_BASE64: A4zu0QrM2eIFDc7sC3jzuFRHv3Kgi8cwTC0DD/BmFMYA+EJpx5bxzhOUmrQqHXZrA+34+aaE2jDc7AlIBlKuVg==\n',
    );
    assert.ok(typeof pair !== 'string');
    assert.equal(pair.key.length, 32);
    assert.equal(pair.hmacKey.length, 64);
    assert.match(String(parseSpaKeys('KEY_BASE64: AAAA\nHMAC_KEY_BASE64: AAAA\n')), /must differ/);
  });
});

describe('spa doors in nftables', () => {
  const plan = load(`doors:\n  ssh:\n    spa: { keys: spa.keys }\n    open: [22, 53/udp]\n`);
  const nft = compileNft(plan);

  test('the grant set is keyed by address . proto . port and opens only what it holds', () => {
    assert.match(nft, /set ssh_open_4 \{ type ipv4_addr \. inet_proto \. inet_service; flags timeout; timeout 30s;/);
    assert.match(nft, /set ssh_open_6 \{ type ipv6_addr \. inet_proto \. inet_service;/);
    assert.match(nft, /ip saddr \. meta l4proto \. th dport @ssh_open_4 accept/);
    assert.match(nft, /ip6 saddr \. meta l4proto \. th dport @ssh_open_6 accept/);
    assert.match(nft, /\n\t\ttcp dport 22 drop\n/);
    assert.match(nft, /\n\t\tudp dport 53 drop\n/);
  });

  test('with nft queue in the kernel, a SYN racing its SPA packet waits in the queue, after every grant rule and before the drop', () => {
    const held = compileNft(plan, { queue: true });
    assert.match(held, /set spa_wait_4 \{ type ipv4_addr; flags dynamic,timeout; timeout 800ms;/);
    assert.match(held, /udp dport 62201 update @spa_wait_4 \{ ip saddr \}/);
    assert.match(held, /udp dport 62201 update @spa_wait_6 \{ ip6 saddr \}/);
    const queue = held.indexOf('ip saddr @spa_wait_4 tcp dport 22 tcp flags & (fin|syn|rst|ack) == syn queue num 7331');
    assert.ok(queue > held.indexOf('@ssh_open_4 accept'), 'after the grant rule');
    assert.ok(queue < held.indexOf('tcp dport 22 drop'), 'before the drop');
    // only TCP SYNs are held: the UDP port is dropped as before
    assert.doesNotMatch(held, /udp dport 53 .*queue/);
    // without the feature, nothing of it
    assert.doesNotMatch(nft, /spa_wait|queue/);
  });

  test('nft accepts the ruleset', (t) => {
    try {
      execFileSync('nft', ['-c', '-f', '-'], { input: nft, stdio: ['pipe', 'ignore', 'pipe'] });
    } catch (err) {
      const e = err as { code?: string; stderr?: Buffer };
      if (e.code === 'ENOENT' || /Operation not permitted/.test(String(e.stderr))) {
        t.skip('nft -c needs nftables and CAP_NET_ADMIN');
        return;
      }
      assert.fail(String(e.stderr));
    }
  });

  test('per-port grants read back from the kernel listing with their port', () => {
    const json = JSON.stringify({
      nftables: [
        {
          set: {
            name: 'ssh_open_4',
            timeout: 30,
            elem: [{ elem: { val: { concat: ['198.18.0.2', 'tcp', 22] }, timeout: 10, expires: 9 } }],
          },
        },
      ],
    });
    assert.deepEqual(parseGrants(json), [
      {
        port: { proto: 'tcp', port: 22 },
        door: 'ssh',
        family: 4,
        address: '198.18.0.2',
        expiresMs: 9000,
        timeoutMs: 10000,
      },
    ]);
  });
});

describe('spa doors for signed packets (users:)', () => {
  test('a door with users: and no keys takes only signed packets', () => {
    const users = join(dir, 'users.yaml');
    writeFileSync(users, `users:\n  alice:\n    spa_keys: ["${Buffer.alloc(32, 9).toString('base64')}"]\n`, {
      mode: 0o600,
    });
    const plan = load(`users: users.yaml\ndoors:\n  ssh:\n    spa: {}\n    users: [alice]\n    open: [22]\n`);
    const d = plan.doors[0] as SpaDoor;
    assert.equal(d.spa.key, null);
    assert.deepEqual(d.users, ['alice']);
  });

  test('neither keys nor users, or users without open, is refused at the field', () => {
    assert.ok(
      problems(`doors:\n  ssh:\n    spa: {}\n    open: [22]\n`).some((p) =>
        /spa\.keys: an spa door needs `keys` .* or `users:`/.test(p),
      ),
    );
    assert.ok(
      problems(`users: users.yaml\ndoors:\n  ssh:\n    spa: {}\n    users: [alice]\n    hide: [22]\n`).some((p) =>
        /open: an spa door with `users:` needs `open`/.test(p),
      ),
    );
  });
});
