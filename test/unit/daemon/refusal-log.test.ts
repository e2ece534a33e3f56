import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RefusalLog } from '../../../src/daemon/refusal-log.js';

describe('the refusal log (every door kind)', () => {
  test('one client makes the daemon log 10,000 lines a second (regression): each kind of refusal is logged at most `burst` times per window, then one summary line per kind', () => {
    const lines: [string, Record<string, unknown>][] = [];
    let now = 0;
    const log = new RefusalLog((e, f) => lines.push([e, f]), { burst: 3, windowMs: 1000, now: () => now });
    for (let i = 0; i < 10_000; i++) {
      log.refused({ source: 'http', event: 'http-rate-limited', reason: 'rate-limited', address: '198.18.0.2' });
      log.refused({ source: 'http', event: 'http-door-throttled', reason: 'door-throttled', door: 'ssh' });
    }
    assert.equal(lines.length, 6, 'three of each kind');
    assert.deepEqual(lines[0], ['http-rate-limited', { address: '198.18.0.2', reason: 'rate-limited' }]);
    now = 1000;
    log.refused({ source: 'spa', reason: 'bad-hmac', address: '198.18.0.3', fields: { via: 'udp' } });
    assert.deepEqual(lines.slice(6), [
      ['http-rate-limited-suppressed', { reason: 'rate-limited', count: 9997, window_s: 1 }],
      ['http-door-throttled-suppressed', { reason: 'door-throttled', count: 9997, window_s: 1 }],
      ['spa-refused', { address: '198.18.0.3', reason: 'bad-hmac', via: 'udp' }],
    ]);
    // a kind that is not flooding is logged in full while another floods
    for (let i = 0; i < 3; i++) log.refused({ source: 'token', reason: 'replayed token', door: 'tok' });
    assert.equal(lines.filter(([e]) => e === 'token-refused').length, 3);
    log.stop();
  });
});
