import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../src/config/config-error.js';
import { type FwknopAccessOptions, parseFwknopAccess } from '../../../src/config/fwknop-access.js';
import { SpaGate } from '../../../src/core/spa/admit.js';
import { makeSpaPacket, type SpaKey } from '../../../src/core/spa/packet.js';

const K1 = Buffer.alloc(32, 1);
const H1 = Buffer.alloc(64, 2);
const K2 = Buffer.alloc(32, 3);
const H2 = Buffer.alloc(64, 4);
const b64 = (b: Buffer) => b.toString('base64');
const NOW = 1_800_000_000_000;

function conf(...stanzas: string[]): string {
  return `# access.conf\n${stanzas.join('\n\n')}\n`;
}
const stanza = (k: Buffer, h: Buffer, extra = '') =>
  `SOURCE          ANY\nKEY_BASE64      ${b64(k)}\nHMAC_KEY_BASE64 ${b64(h)}\n${extra}`;

function packet(
  key: SpaKey,
  allowIp: string,
  ports: string[],
  extra: { clientTimeout?: number; ts?: number; username?: string } = {},
) {
  return makeSpaPacket(
    {
      username: extra.username ?? 'alice',
      timestamp: Math.floor((extra.ts ?? NOW) / 1000),
      allowIp,
      access: ports.map((p) => ({ proto: p.split('/')[0] as 'tcp', port: Number(p.split('/')[1]) })),
      clientTimeout: extra.clientTimeout,
    },
    key,
  );
}
const key1: SpaKey = { key: K1, hmacKey: H1, hmacType: 'sha256' };
const key2: SpaKey = { key: K2, hmacKey: H2, hmacType: 'sha256' };
const fresh = () => true;
// stanzas here mostly lack OPEN_PORTS, as Debian's default file does; serve --hide 22 for them
const parseHidden = (text: string, file = 'access.conf', opts: FwknopAccessOptions = {}) =>
  parseFwknopAccess(text, file, { hide: [{ proto: 'tcp', port: 22 }], ...opts });

function problems(text: string, opts: FwknopAccessOptions = { hide: [{ proto: 'tcp', port: 22 }] }): string[] {
  try {
    parseFwknopAccess(text, 'access.conf', opts);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.map((p) => `${p.line} ${p.field}: ${p.message}`);
  }
  return [];
}

describe("fwknopd's access.conf", () => {
  test('every supported key is read', async () => {
    const [d] = parseHidden(
      conf(
        [
          'SOURCE: 198.18.0.0/24, 10.0.0.0/255.0.0.0, fd00:5e5a::/64',
          'DESTINATION 198.18.0.1',
          'OPEN_PORTS tcp/22, udp/51820',
          'RESTRICT_PORTS tcp/23',
          'KEY fwknoptest',
          'HMAC_KEY hmactest',
          'HMAC_DIGEST_TYPE SHA512',
          'ENCRYPTION_MODE legacy',
          'FW_ACCESS_TIMEOUT 45',
          'MAX_FW_TIMEOUT 600',
          'REQUIRE_SOURCE_ADDRESS Y',
          'REQUIRE_USERNAME alice',
          'ACCESS_EXPIRE 12/31/2099',
        ].join('\n'),
      ),
    );
    assert.equal(d.name, 'fwknop1');
    assert.equal(d.forMs, 45_000);
    assert.deepEqual(d.open, [
      { proto: 'tcp', port: 22 },
      { proto: 'udp', port: 51820 },
    ]);
    assert.deepEqual(d.spa.sources, ['198.18.0.0/24', '10.0.0.0/8', 'fd00:5e5a::/64']);
    assert.deepEqual(d.spa.destinations, ['198.18.0.1']);
    assert.deepEqual(d.spa.restrictPorts, [{ proto: 'tcp', port: 23 }]);
    assert.equal(d.spa.key!.hmacType, 'sha512');
    assert.equal(d.spa.key!.legacy, true);
    assert.equal(d.spa.maxTimeoutMs, 600_000);
    assert.equal(d.spa.requireSource, true);
    assert.deepEqual(d.spa.usernames, ['alice']);
    assert.equal(d.spa.expiresAtMs, new Date(2099, 11, 31).getTime());
    assert.equal(d.spa.origin, 'access.conf:2');
  });

  test("Debian's stock file shape (SOURCE ANY, base64 keys, no OPEN_PORTS) loads with --hide", () => {
    const text = conf(stanza(K1, H1, 'REQUIRE_SOURCE_ADDRESS    N\nACCESS_EXPIRE_EPOCH 4102444800\n'));
    const [d] = parseHidden(text, 'access.conf', { hide: [{ proto: 'tcp', port: 22 }] });
    assert.equal(d.spa.sources, null);
    assert.equal(d.spa.openPorts, null);
    assert.deepEqual(d.open, [{ proto: 'tcp', port: 22 }]);
    assert.equal(d.spa.requireSource, false);
    assert.equal(d.spa.expiresAtMs, 4102444800_000);
  });

  test('no OPEN_PORTS and nothing to hide: refused at the stanza, never a door that hides nothing', () => {
    const p = problems(conf(stanza(K1, H1)), {});
    assert.equal(p.length, 1);
    assert.match(p[0], /^2 SOURCE: stanza has no OPEN_PORTS: .*--hide tcp\/22/);
  });

  test("no OPEN_PORTS: the ports the file's other stanzas open are hidden; any port is granted minus RESTRICT_PORTS", async () => {
    const doors = parseFwknopAccess(
      conf(
        `SOURCE 198.18.0.9\nKEY_BASE64 ${b64(K2)}\nHMAC_KEY_BASE64 ${b64(H2)}\nOPEN_PORTS tcp/22, udp/51820`,
        stanza(K1, H1, 'RESTRICT_PORTS tcp/23'),
      ),
    );
    assert.deepEqual(doors[1].open, [
      { proto: 'tcp', port: 22 },
      { proto: 'udp', port: 51820 },
    ]);
    const gate = new SpaGate(doors);
    const ok = await gate.admit(
      packet(key1, '198.18.0.2', ['tcp/8080', 'tcp/22']),
      '198.18.0.2',
      undefined,
      NOW,
      fresh,
    );
    assert.ok(ok.ok);
    assert.equal(ok.door.name, 'fwknop2');
    assert.deepEqual(ok.ports, [
      { proto: 'tcp', port: 8080 },
      { proto: 'tcp', port: 22 },
    ]);
    const no = await gate.admit(packet(key1, '198.18.0.2', ['tcp/23']), '198.18.0.2', undefined, NOW, fresh);
    assert.equal(!no.ok && no.reason, 'ports-refused');
  });

  test('unsupported and unknown keys are errors at their line, never ignored', async () => {
    const p = problems(
      conf(stanza(K1, H1, 'GPG_REMOTE_ID 1234\nCMD_EXEC_USER nobody\nFORCE_NAT 1.2.3.4 22\nOPEN_PORT tcp/22\n')),
    );
    assert.equal(p.length, 4);
    assert.match(p[0], /^5 GPG_REMOTE_ID: not supported by sesame: GnuPG/);
    assert.match(p[1], /^6 CMD_EXEC_USER: not supported by sesame: SPA command messages/);
    assert.match(p[2], /^7 FORCE_NAT: not supported by sesame: NAT/);
    assert.match(p[3], /^8 OPEN_PORT: unknown access.conf key/);
  });

  test('bad values are located and explained', async () => {
    const p = problems(
      conf(
        'SOURCE 1.2.3.4/33\nKEY_BASE64 __CHANGEME__\nHMAC_KEY_BASE64 !!!\nOPEN_PORTS tcp/70000\nENCRYPTION_MODE CTR\nREQUIRE_SOURCE maybe\nFW_ACCESS_TIMEOUT soon\nACCESS_EXPIRE 13/01/2030',
      ),
    );
    assert.deepEqual(p.map((l) => l.split(':')[0]).sort(), [
      '2 SOURCE',
      '3 KEY_BASE64',
      '4 HMAC_KEY_BASE64',
      '5 OPEN_PORTS',
      '6 ENCRYPTION_MODE',
      '7 REQUIRE_SOURCE',
      '8 FW_ACCESS_TIMEOUT',
      '9 ACCESS_EXPIRE',
    ]);
  });

  test('a stanza without an HMAC key, or a key line before SOURCE, is refused', async () => {
    assert.match(problems('KEY abc\n')[0], /before the first SOURCE/);
    assert.match(problems('SOURCE ANY\nKEY fwknoptest\n')[0], /requires HMAC/);
    assert.match(problems('# nothing\n')[0], /no SOURCE stanza/);
  });
});

describe('SPA admission (first stanza that authenticates and permits wins)', async () => {
  const doors = parseHidden(
    conf(
      stanza(K1, H1, 'OPEN_PORTS tcp/22\nREQUIRE_SOURCE_ADDRESS Y\nMAX_FW_TIMEOUT 60'),
      `SOURCE 198.18.0.0/24\nKEY_BASE64 ${b64(K2)}\nHMAC_KEY_BASE64 ${b64(H2)}\nRESTRICT_PORTS tcp/23\nREQUIRE_USERNAME bob\n`,
    ),
  );
  const gate = new SpaGate(doors);

  test('the address in the packet gets exactly the requested ports, for the default or capped lifetime', async () => {
    const a = await gate.admit(packet(key1, '198.18.0.2', ['tcp/22']), '198.18.0.9', undefined, NOW, fresh);
    assert.ok(a.ok, JSON.stringify(a));
    assert.equal(a.door.name, 'fwknop1');
    assert.equal(a.address, '198.18.0.2');
    assert.deepEqual(a.ports, [{ proto: 'tcp', port: 22 }]);
    assert.equal(a.timeoutMs, 30_000);
    const capped = await gate.admit(
      packet(key1, '198.18.0.2', ['tcp/22'], { clientTimeout: 3600 }),
      '198.18.0.2',
      undefined,
      NOW,
      fresh,
    );
    assert.ok(capped.ok);
    assert.equal(capped.timeoutMs, 60_000);
    const asked = await gate.admit(
      packet(key1, '198.18.0.2', ['tcp/22'], { clientTimeout: 5 }),
      '198.18.0.2',
      undefined,
      NOW,
      fresh,
    );
    assert.ok(asked.ok);
    assert.equal(asked.timeoutMs, 5_000);
  });

  test('each refusal names its reason', async () => {
    const r = async (p: string, peer = '198.18.0.2', now = NOW) => {
      const a = await gate.admit(p, peer, undefined, now, fresh);
      return a.ok ? 'ok' : a.reason;
    };
    assert.equal(await r(packet(key1, '0.0.0.0', ['tcp/22'])), 'source-required');
    assert.equal(await r(packet(key1, '198.18.0.2', ['tcp/80'])), 'ports-refused');
    assert.equal(await r(packet(key1, '198.18.0.2', ['tcp/22'], { ts: NOW - 121_000 })), 'too-old');
    assert.equal(await r(packet(key1, '198.18.0.2', ['tcp/22'], { ts: NOW + 121_000 })), 'too-old');
    assert.equal(await r(packet({ ...key1, hmacKey: Buffer.alloc(64, 9) }, '198.18.0.2', ['tcp/22'])), 'bad-hmac');
    assert.equal(await r(packet({ ...key1, key: K2 }, '198.18.0.2', ['tcp/22'])), 'undecryptable');
    // the second stanza: source-limited, RESTRICT_PORTS, REQUIRE_USERNAME
    assert.equal(await r(packet(key2, '0.0.0.0', ['tcp/23'], { username: 'bob' })), 'ports-refused');
    assert.equal(await r(packet(key2, '0.0.0.0', ['tcp/80'], { username: 'eve' })), 'username');
    assert.equal(await r(packet(key2, '0.0.0.0', ['tcp/80'], { username: 'bob' })), 'ok');
    assert.equal(await r(packet(key2, '0.0.0.0', ['tcp/80'], { username: 'bob' }), '203.0.113.5'), 'bad-hmac');
  });

  test('the replay cache is asked once the HMAC matched, before decrypting; forgeries never reach it', async () => {
    const asked: number[] = [];
    const cache = (ttl: number) => (asked.push(ttl), false);
    const forged = await gate.admit(
      packet({ ...key1, hmacKey: Buffer.alloc(64, 9) }, '203.0.113.5', ['tcp/22']),
      '203.0.113.5',
      undefined,
      NOW,
      cache,
    );
    assert.equal(forged.ok ? 'ok' : forged.reason, 'bad-hmac');
    assert.equal(asked.length, 0);
    // a packet under the wrong encryption key: HMAC fine, so the cache decides first
    const seen = await gate.admit(
      packet({ ...key1, key: K2 }, '198.18.0.2', ['tcp/22']),
      '198.18.0.2',
      undefined,
      NOW,
      cache,
    );
    assert.equal(seen.ok ? 'ok' : seen.reason, 'replayed');
    assert.deepEqual(asked, [2 * 120_000 + 60_000]);
  });

  test('0.0.0.0 without REQUIRE_SOURCE_ADDRESS opens the sender, IPv4-mapped or IPv6', async () => {
    const a = await gate.admit(
      packet(key2, '0.0.0.0', ['tcp/22'], { username: 'bob' }),
      '::ffff:198.18.0.7',
      undefined,
      NOW,
      fresh,
    );
    assert.ok(a.ok);
    assert.equal(a.address, '198.18.0.7');
    assert.equal(a.family, 4);
    const open6 = new SpaGate(parseHidden(conf(stanza(K1, H1))));
    const b = await open6.admit(packet(key1, '0.0.0.0', ['tcp/22']), 'fd00:5e5a::2', undefined, NOW, fresh);
    assert.ok(b.ok);
    assert.equal(b.address, 'fd00:5e5a::2');
    assert.equal(b.family, 6);
  });

  test('an expired stanza opens nothing', async () => {
    const g = new SpaGate(parseHidden(conf(stanza(K1, H1, 'ACCESS_EXPIRE_EPOCH 1000'))));
    const a = await g.admit(packet(key1, '198.18.0.2', ['tcp/22']), '198.18.0.2', undefined, NOW, fresh);
    assert.equal(a.ok ? 'ok' : a.reason, 'expired');
  });
});
