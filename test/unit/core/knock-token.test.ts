import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeHmacToken, parseHmacToken, verifyHmacToken } from '../../../src/core/knock-token.js';

const KEY = Buffer.from('0123456789abcdef0123');
const NOW = 1_700_000_000_000;

describe('HMAC knock tokens', () => {
  test('a fresh token verifies for its door', () => {
    const t = makeHmacToken(KEY, 'ssh', NOW);
    const v = verifyHmacToken(KEY, t, 'ssh', NOW + 1000);
    assert.ok(v);
    assert.equal(v.door, 'ssh');
    assert.equal(parseHmacToken(t)?.nonce.length, 22);
  });

  test('a token for one door does not open another', () => {
    assert.equal(verifyHmacToken(KEY, makeHmacToken(KEY, 'ssh', NOW), 'web', NOW), null);
  });

  test('a token older or newer than 30 s is refused', () => {
    const t = makeHmacToken(KEY, 'ssh', NOW);
    assert.equal(verifyHmacToken(KEY, t, 'ssh', NOW + 31_000), null);
    assert.equal(verifyHmacToken(KEY, t, 'ssh', NOW - 31_000), null);
  });

  test('a tampered token or another key is refused', () => {
    const t = makeHmacToken(KEY, 'ssh', NOW, 'AAAAAAAAAAAAAAAAAAAAAA');
    const other = t.replace('.AAAAAAAAAAAAAAAAAAAAAA.', '.AAAAAAAAAAAAAAAAAAAAAB.');
    assert.equal(verifyHmacToken(KEY, other, 'ssh', NOW), null);
    assert.equal(verifyHmacToken(Buffer.from('another key 12345678'), t, 'ssh', NOW), null);
    assert.equal(verifyHmacToken(KEY, 'garbage', 'ssh', NOW), null);
  });
});
