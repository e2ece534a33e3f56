import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExpiringKeys } from '../../../src/core/expiring-keys.js';
import { nonceKey } from '../../../src/core/knock-token.js';

const NOW = 1_700_000_000_000;

describe('ExpiringKeys', () => {
  test('a key is usable once until it expires', () => {
    const c = new ExpiringKeys();
    assert.equal(c.use(nonceKey('ssh', 'n1'), NOW, NOW + 60_000), true);
    assert.equal(c.use(nonceKey('ssh', 'n1'), NOW + 1, NOW + 60_000), false);
    assert.equal(c.use(nonceKey('ssh', 'n2'), NOW + 1, NOW + 60_000), true);
  });

  test('survives a restart through its snapshot', () => {
    const c = new ExpiringKeys();
    c.use('k', NOW, NOW + 60_000);
    const again = new ExpiringKeys(100, JSON.parse(JSON.stringify(c.snapshot(NOW))));
    assert.equal(again.use('k', NOW + 10, NOW + 60_000), false);
  });

  test('stays within its bound', () => {
    const c = new ExpiringKeys(10);
    for (let i = 0; i < 100; i++) c.use(`k${i}`, NOW, NOW + 60_000 + i);
    assert.equal(c.size, 10);
  });
});
