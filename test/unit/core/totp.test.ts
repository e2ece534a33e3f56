import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { base32Decode, base32Encode, hotp, otpauthUri, totp, verifyTotp } from '../../../src/core/totp.js';

// RFC 6238 appendix B, SHA1 seed; the 6-digit code is the last 6 of the 8-digit vector
const SEED = Buffer.from('12345678901234567890');
const VECTORS: [number, string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
];

describe('TOTP (RFC 6238)', () => {
  test('matches the RFC 6238 SHA1 test vectors', () => {
    for (const [t, code] of VECTORS) {
      assert.equal(hotp(SEED, Math.floor(t / 30), 8), code);
      assert.equal(totp(SEED, t * 1000), code.slice(2));
    }
  });

  test('accepts the previous, current and next step, and says which', () => {
    const now = 1111111111_000;
    const step = Math.floor(now / 30_000);
    assert.equal(verifyTotp(SEED, totp(SEED, now), now), step);
    assert.equal(verifyTotp(SEED, totp(SEED, now - 30_000), now), step - 1);
    assert.equal(verifyTotp(SEED, totp(SEED, now + 30_000), now), step + 1);
    assert.equal(verifyTotp(SEED, totp(SEED, now - 60_000), now), null);
  });

  test('refuses wrong, short and long codes', () => {
    const now = 1234567890_000;
    const code = totp(SEED, now);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    assert.equal(verifyTotp(SEED, wrong, now), null);
    assert.equal(verifyTotp(SEED, code.slice(0, 5), now), null);
    assert.equal(verifyTotp(SEED, `${code}0`, now), null);
    assert.equal(verifyTotp(SEED, '', now), null);
  });

  test('base32 follows RFC 4648 and ignores case, spaces and padding', () => {
    assert.equal(base32Encode(Buffer.from('foobar')), 'MZXW6YTBOI');
    assert.deepEqual(base32Decode('mzxw 6ytb oi======'), Buffer.from('foobar'));
    assert.equal(base32Decode('not base32!'), null);
    const key = Buffer.from('0123456789abcdefghij');
    assert.deepEqual(base32Decode(base32Encode(key)), key);
  });

  test('the otpauth URI carries what authenticator apps need', () => {
    const uri = new URL(otpauthUri(SEED, 'ssh@host'));
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.host, 'totp');
    assert.equal(decodeURIComponent(uri.pathname), '/sesame:ssh@host');
    assert.equal(uri.searchParams.get('secret'), base32Encode(SEED));
    assert.equal(uri.searchParams.get('digits'), '6');
    assert.equal(uri.searchParams.get('period'), '30');
    assert.equal(uri.searchParams.get('algorithm'), 'SHA1');
  });
});
