import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseConfig } from '../../../src/config/load-config.js';
import type { SharedDoor } from '../../../src/core/door.js';
import { encodeTokenKnock, parseStaticSecret, tokenPrefix, verifyTokenKnock } from '../../../src/core/shared-secret.js';
import { base32Encode } from '../../../src/core/totp.js';
import { compileIptables } from '../../../src/firewall/iptables/compile.js';
import { compileNft } from '../../../src/firewall/nft/compile.js';
import { payloadMatch } from '../../../src/firewall/nft/shared.js';
import { decodePacket } from '../../../src/netfilter/nflog-codec.js';
import { tokenVerifier } from '../../../src/sources/shared-token.js';
import { tempDir } from '../../e2e/support.js';
import { configProblems } from '../config/config-problems.js';

const dir = tempDir();
after(() => rmSync(dir, { recursive: true, force: true }));
const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const secretFile = join(dir, 'secret');
const keyFile = join(dir, 'key');
writeFileSync(secretFile, 'open-sesame-0123456789\n', { mode: 0o600 });
writeFileSync(keyFile, `${base32Encode(KEY)}\n`, { mode: 0o600 });

const door = (extra = '', file = secretFile) =>
  `doors:\n  ssh443:\n    shared: { port: 443, secret: ${file}${extra} }\n    for: 300s\n`;

const problems = configProblems;

describe('shared-port door: config', () => {
  test('defaults: 443 to 22, one-shot, static secret read from the file, 22 protected', () => {
    const d = parseConfig(door()).doors[0] as SharedDoor;
    assert.equal(d.kind, 'shared');
    assert.deepEqual(d.shared, {
      port: 443,
      redirectTo: 22,
      mode: 'oneshot',
      secretKind: 'static',
      secretFile,
      matchHex: Buffer.from('open-sesame-0123456789').toString('hex'),
    });
    assert.deepEqual(d.open, [{ port: 22, proto: 'tcp' }]);
    assert.equal(d.forMs, 300_000);
  });

  test('a missing secret file is an error at the secret field', () => {
    const [line] = problems(door('', join(dir, 'nope')));
    assert.match(line, /^sesame\.yaml:3:\d+ doors\.ssh443\.shared\.secret: .*nope: file not found$/);
  });

  test('redirecting a port to itself is refused', () => {
    assert.match(
      problems(door(', redirect_to: 443'))[0],
      /doors\.ssh443\.shared\.redirect_to: redirect_to must differ from port 443/,
    );
  });

  test('a token door matches the key-derived prefix, not the key', () => {
    const d = parseConfig(door(', secret_kind: token', keyFile)).doors[0] as SharedDoor;
    assert.equal(d.shared.matchHex, tokenPrefix(KEY).toString('hex'));
  });
});

describe('shared-port door: secrets and tokens', () => {
  test('a static secret drops one trailing newline; short or TLS-looking secrets are refused', () => {
    assert.deepEqual(parseStaticSecret(Buffer.from('abcdefgh\r\n')), Buffer.from('abcdefgh'));
    assert.match(String(parseStaticSecret(Buffer.from('short\n'))), /at least 8/);
    assert.match(String(parseStaticSecret(Buffer.from('\x16\x03\x01abcdefgh'))), /0x16/);
    assert.match(String(parseStaticSecret(Buffer.alloc(65, 0x41))), /at most 64/);
  });

  test('a token knock verifies once; a replay, another door, an old or cut token do not', async () => {
    const now = 1_700_000_000_000;
    const knock = encodeTokenKnock(KEY, 'ssh443', now);
    assert.ok(verifyTokenKnock(KEY, 'ssh443', knock, now + 1000));
    assert.equal(verifyTokenKnock(KEY, 'other', knock, now), null);
    assert.equal(verifyTokenKnock(KEY, 'ssh443', knock, now + 60_000), null);
    assert.equal(verifyTokenKnock(KEY, 'ssh443', knock.subarray(0, knock.length - 2), now), null);
    assert.equal(verifyTokenKnock(Buffer.alloc(32, 1), 'ssh443', knock, now), null);

    const d = parseConfig(door(', secret_kind: token', keyFile)).doors[0] as SharedDoor;
    const verify = tokenVerifier(d, KEY);
    const packet = {
      prefix: 'sesame token ssh443',
      family: 4 as const,
      source: '198.18.0.10',
      protocol: 6,
      destPort: 443,
      data: knock,
    };
    assert.equal(await verify(packet, now), 'ok');
    assert.equal(await verify({ ...packet, source: '198.18.0.11' }, now + 500), 'replayed token');
  });

  test('the payload match is cut in 16-byte pieces at bit offsets', () => {
    const hex = Buffer.from('0123456789abcdefXY').toString('hex');
    assert.equal(payloadMatch(hex), `@ih,0,128 0x${hex.slice(0, 32)} @ih,128,16 0x${hex.slice(32)}`);
  });

  test('NFLOG packets expose the TCP payload after the header options', () => {
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip[9] = 6;
    Buffer.from([198, 18, 0, 10]).copy(ip, 12);
    const tcp = Buffer.alloc(32);
    tcp.writeUInt16BE(443, 2);
    tcp[12] = 8 << 4; // 32-byte header: 12 bytes of options
    const packet = Buffer.concat([ip, tcp, Buffer.from('hello')]);
    const attr = (type: number, value: Buffer) => {
      const out = Buffer.alloc((4 + value.length + 3) & ~3);
      out.writeUInt16LE(4 + value.length, 0);
      out.writeUInt16LE(type, 2);
      value.copy(out, 4);
      return out;
    };
    const body = Buffer.concat([Buffer.alloc(4), attr(10, Buffer.from('sesame token d\0')), attr(9, packet)]);
    const p = decodePacket(body);
    assert.equal(p?.source, '198.18.0.10');
    assert.equal(p?.data?.toString(), 'hello');
  });
});

describe('shared-port door: rulesets', () => {
  test('nft: knock in the first data packet, one-shot redirect in prerouting, the redirected connection let in', () => {
    const nft = compileNft(parseConfig(door()));
    assert.match(nft, /chain ssh443_shared \{\n\t\ttype filter hook input priority filter - 6;/);
    assert.match(
      nft,
      /tcp dport 443 ct state established meta nfproto ipv4 ct mark & 0x40000000 == 0 @ih,0,128 0x\w+ @ih,128,48 0x\w+ ct mark set ct mark \| 0x40000000 update @ssh443_open_4 \{ ip saddr \} reject with tcp reset/,
    );
    assert.match(
      nft,
      /ip6 saddr @ssh443_open_6 tcp dport 443 delete @ssh443_open_6 \{ ip6 saddr \} log group 7331 prefix "sesame open ssh443" redirect to :22/,
    );
    assert.match(nft, /tcp dport 22 ct original proto-dst 443 ct status dnat accept/);
  });

  test('nft: window mode keeps the address; a token door logs to its own NFLOG group', () => {
    assert.doesNotMatch(compileNft(parseConfig(door(', mode: window'))), /delete @ssh443_open/);
    const token = compileNft(parseConfig(door(', secret_kind: token', keyFile)));
    assert.match(token, /log group 7332 prefix "sesame token ssh443"/);
    assert.doesNotMatch(token, /update @ssh443_open/);
  });

  test('regression: token knocks are logged per source (IPv6 per /64) under a bounded global limit, not one global 50/s anyone could use up', () => {
    const token = compileNft(parseConfig(door(', secret_kind: token', keyFile)));
    assert.match(
      token,
      /meta nfproto ipv4 ct mark & 0x40000000 == 0 @ih,0,64 0x\w+ update @ssh443_tokrate_4 \{ ip saddr limit rate 2\/second burst 10 packets \} limit rate 1000\/second burst 2000 packets log group 7332/,
    );
    assert.match(token, /update @ssh443_tokrate_6 \{ ip6 saddr & ffff:ffff:ffff:ffff:: limit rate 2\/second/);
    assert.match(token, /set ssh443_tokrate_4 \{ type ipv4_addr; flags dynamic,timeout; timeout 60s; size 65536; \}/);
    assert.doesNotMatch(token, /\) limit rate 50\/second|\s0x\w+ limit rate/, 'no global-only limit before the log');
  });

  test('iptables: string + connbytes on the 3rd packet, recent, nat REDIRECT; token doors refused', () => {
    const ipt = compileIptables(parseConfig(door()), 4);
    assert.match(
      ipt,
      /-A SESAME -p tcp --dport 443 -m conntrack --ctstate ESTABLISHED -m connbytes --connbytes 3:3 .* -m string --algo bm --from 40 --to 102 --hex-string "\|\w+\|" -g S-ssh443-knock\n-A SESAME -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN/,
    );
    assert.match(
      ipt,
      /\*nat\n[^]*-A SESAME-nat -p tcp --dport 443 -m recent --name sesame_ssh443_open_4 --rcheck --seconds 300 -m recent --name sesame_ssh443_open_4 --remove -j REDIRECT --to-ports 22\nCOMMIT/,
    );
    assert.throws(() => compileIptables(parseConfig(door(', secret_kind: token', keyFile)), 6), /need the daemon/);
  });
});
