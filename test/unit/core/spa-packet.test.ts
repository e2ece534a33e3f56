import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { b64Decode } from '../../../src/core/spa/base64.js';
import { rijndaelDecrypt, rijndaelEncrypt } from '../../../src/core/spa/cipher.js';
import { DIGEST_TYPES } from '../../../src/core/spa/digest.js';
import { parseSpaText } from '../../../src/core/spa/message.js';
import { checkWire, makeSpaPacket, openSpaPacket, SALTED_B64, type SpaKey } from '../../../src/core/spa/packet.js';

// fwknop's own test vector (test/tests/rijndael_hmac.pl): KEY fwknoptest, HMAC_KEY hmactest, sha256
const KNOWN_PACKET =
  '+8fP34T9Vjs50Yke5tNTz7YnsDbQUcp6zaaJTzVOgRuNXyhiZKL5UpaC2neRkqgjSlG6/qJSKXIuXBKR4LFS3rX2ZwrOkfBGKJeXe8S2uZex9RjOr/8SwS45Q+Kt3J6QsShXU4cxz09Cv+bi7+08/bGCyVdhvYNwogIhEkcqS79+JNR3lSBEBrOY4hoOKRRAYw41yI5cBCdc';
const KNOWN_TEXT =
  '9498113239850172:dTBfYTUy:1387857764:2.0:3:MC4wLjAuMCx0Y3AvMjI:2:uMxeJZ6Q/ACqlDyHOoZBBpsXfJ5bJVVLCcU8F9nHoiU';
const KNOWN_KEY: SpaKey = { key: Buffer.from('fwknoptest'), hmacKey: Buffer.from('hmactest'), hmacType: 'sha256' };
const KEY: SpaKey = {
  key: Buffer.from('0123456789abcdef0123456789abcdef'),
  hmacKey: Buffer.from('an hmac key that is long enough for anyone'),
  hmacType: 'sha256',
};

function open(packet: string, key: SpaKey) {
  const w = checkWire(packet);
  assert.ok(w.ok, 'wire check');
  return openSpaPacket(w.wire, key);
}

describe('SPA packets (fwknop 2.6 Rijndael + HMAC)', () => {
  test("fwknop's known-answer packet decodes to its known plaintext", () => {
    const r = open(KNOWN_PACKET, KNOWN_KEY);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.message.username, 'u0_a52');
    assert.equal(r.message.timestamp, 1387857764);
    assert.equal(r.message.type, 3);
    assert.equal(r.message.allowIp, '0.0.0.0');
    assert.deepEqual(r.message.access, [{ proto: 'tcp', port: 22 }]);
    assert.equal(r.message.clientTimeout, 2);
    assert.equal(r.message.digestType, 'sha256');
    // and the decrypted text is exactly the one fwknop's suite lists
    const raw = b64Decode(SALTED_B64 + KNOWN_PACKET.slice(0, -43));
    assert.ok(raw);
    assert.equal(rijndaelDecrypt(raw, KNOWN_KEY.key)?.toString(), KNOWN_TEXT);
  });

  test('a wrong HMAC key is refused before decryption; a wrong encryption key after it', () => {
    assert.deepEqual(pick(open(KNOWN_PACKET, { ...KNOWN_KEY, hmacKey: Buffer.from('hmactesT') })), 'bad-hmac');
    assert.equal(pick(open(KNOWN_PACKET, { ...KNOWN_KEY, key: Buffer.from('fwknoptesT') })), 'undecryptable');
    assert.equal(pick(open(KNOWN_PACKET, { ...KNOWN_KEY, hmacType: 'sha512' })), 'bad-hmac');
  });

  test('a packet sesame makes opens with every HMAC and message digest type', () => {
    for (const hmacType of DIGEST_TYPES) {
      for (const digestType of DIGEST_TYPES) {
        const key = { ...KEY, hmacType };
        const p = makeSpaPacket(
          {
            username: 'alice',
            timestamp: 1_700_000_000,
            allowIp: '198.18.0.2',
            access: [{ proto: 'tcp', port: 22 }],
            digestType,
          },
          key,
        );
        const r = open(p, key);
        assert.ok(r.ok, `${hmacType}/${digestType}: ${JSON.stringify(r)}`);
        // sha3 digests share their length with sha2 ones; the decoder tells them apart
        assert.equal(r.message.digestType, digestType);
      }
    }
  });

  test('legacy mode pads a short key with 0 characters, as the old Perl client did', () => {
    const key = { ...KEY, key: Buffer.from('short'), legacy: true };
    const p = makeSpaPacket(
      { username: 'bob', timestamp: 1, allowIp: '0.0.0.0', access: [{ proto: 'udp', port: 53 }] },
      key,
    );
    assert.ok(open(p, key).ok);
    assert.equal(pick(open(p, { ...key, legacy: false })), 'undecryptable');
    assert.ok(open(p, { ...key, key: Buffer.from('short00000000000') }).ok);
  });

  test('sesame encrypts exactly like openssl enc -aes-256-cbc -md md5', (t) => {
    const plain = Buffer.from('1234567890123456:some text to encrypt');
    const ct = rijndaelEncrypt(plain, Buffer.from('fwknoptest'), false);
    let out: Buffer;
    try {
      out = execFileSync('openssl', ['enc', '-d', '-aes-256-cbc', '-md', 'md5', '-pass', 'pass:fwknoptest'], {
        input: ct,
      });
    } catch {
      t.skip('openssl not installed');
      return;
    }
    assert.deepEqual(out, plain);
  });

  test('a client timeout, several ports and an IPv6 address round-trip', () => {
    const p = makeSpaPacket(
      {
        username: 'carol',
        timestamp: 42,
        allowIp: 'fd00:5e5a::2',
        access: [
          { proto: 'tcp', port: 22 },
          { proto: 'udp', port: 51820 },
        ],
        clientTimeout: 90,
      },
      KEY,
    );
    const r = open(p, KEY);
    assert.ok(r.ok);
    assert.equal(r.message.allowIp, 'fd00:5e5a::2');
    assert.equal(r.message.clientTimeout, 90);
    assert.equal(r.message.access.length, 2);
  });

  test('garbage, short, long, prefixed and non-base64 packets are not SPA', () => {
    assert.equal(pick(checkWire('hello')), 'not-spa');
    assert.equal(pick(checkWire('A'.repeat(1501))), 'not-spa');
    assert.equal(pick(checkWire(SALTED_B64 + KNOWN_PACKET)), 'not-spa');
    assert.equal(pick(checkWire(KNOWN_PACKET.replace('+', '*'))), 'not-spa');
    assert.equal(pick(open(KNOWN_PACKET.slice(0, -1), KNOWN_KEY)), 'bad-hmac');
    assert.equal(pick(open(KNOWN_PACKET.slice(1), KNOWN_KEY)), 'bad-hmac');
  });

  test('command and NAT messages are refused with the reason', () => {
    const base = '1234567890123456:YWxpY2U:1700000000:3.0.0';
    const msg = Buffer.from('1.2.3.4,tcp/22').toString('base64').replace(/=+$/, '');
    const withDigest = (t: string) => {
      const r = parseSpaText(`${t}:${sha256b64(t)}`);
      return r.ok ? 'ok' : r.reason;
    };
    assert.match(withDigest(`${base}:0:${msg}`), /command messages/);
    assert.match(withDigest(`${base}:2:${msg}:${msg}`), /NAT access/);
    assert.equal(withDigest(`${base}:1:${msg}`), 'ok');
    assert.match(withDigest(`${base}:1:${Buffer.from('1.2.3.4,icmp/0').toString('base64')}`), /not (base64|supported)/);
  });
});

function sha256b64(t: string): string {
  return createHash('sha256').update(t).digest('base64').replace(/=+$/, '');
}

function pick(r: { ok: boolean; reason?: string }): string {
  return r.ok ? 'ok' : (r.reason as string);
}

test('a stock fwknop packet of 440 characters (9 ports, sha512) opens: no "400+ characters is GPG" guess', () => {
  const file = fileURLToPath(
    new URL('../../../../test/fuzz/corpus/spa/stock-client-9-ports-sha512.txt', import.meta.url),
  );
  const w = checkWire(readFileSync(file));
  assert.ok(w.ok);
  assert.ok(w.wire.length > 400);
  const r = openSpaPacket(w.wire, {
    key: Buffer.from('fwknoptest'),
    hmacKey: Buffer.from('hmactest'),
    hmacType: 'sha512',
  });
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.message.access.length, 9);
  assert.equal(r.message.digestType, 'sha512');
  assert.equal(r.message.allowIp, '0.0.0.0');
});
