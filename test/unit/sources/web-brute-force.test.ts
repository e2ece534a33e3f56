import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { totp, TOTP_STEP_MS } from '../../../src/core/totp.js';
import { RateLimiter } from '../../../src/sources/http/rate-limit.js';
import { TotpFailureBudget } from '../../../src/sources/http/totp-budget.js';
import { TokenVerifier } from '../../../src/sources/http/verifier.js';

const KEY = Buffer.from('0123456789abcdef0123');
const STEP0 = 56_666_666;
const at = (step: number, ms = 0) => step * TOTP_STEP_MS + ms;
const wrong = (now: number) => String((Number(totp(KEY, now)) + 500_000) % 1e6).padStart(6, '0');

describe('TOTP guessing across addresses (regression: 348,312 guesses opened a door in 74 s)', () => {
  test('after 3 wrong codes in a step even the right code is refused until the next step, which takes it', async () => {
    const v = new TokenVerifier([{ name: 'ssh', tokens: ['totp'], key: KEY }]);
    for (let i = 0; i < 3; i++)
      assert.deepEqual(await v.verify('ssh', wrong(at(STEP0, i)), at(STEP0, i)), { ok: false, why: 'bad-token' });
    assert.deepEqual(await v.verify('ssh', totp(KEY, at(STEP0, 10)), at(STEP0, 10)), {
      ok: false,
      why: 'door-throttled',
    });
    assert.deepEqual(await v.verify('ssh', totp(KEY, at(STEP0 + 1)), at(STEP0 + 1)), { ok: true });
  });

  test('a door under attack takes one wrong code per step, and three again after 10 calm steps', () => {
    const b = new TotpFailureBudget();
    for (let i = 0; i < 3; i++) b.fail('ssh', STEP0);
    assert.equal(b.allows('ssh', STEP0), false);
    b.fail('ssh', STEP0 + 1);
    assert.equal(b.allows('ssh', STEP0 + 1), false, 'one per step under attack');
    assert.equal(b.allows('ssh', STEP0 + 2), true);
    // 10 steps without a wrong code
    assert.equal(b.allows('ssh', STEP0 + 12), true);
    b.fail('ssh', STEP0 + 12);
    assert.equal(b.allows('ssh', STEP0 + 12), true, 'calm again: three per step');
  });

  test('the worst case is 2,882 guesses a day, whatever the attacker does', () => {
    const b = new TotpFailureBudget();
    let guesses = 0;
    for (let step = STEP0; step < STEP0 + 2880; step++) {
      while (b.allows('ssh', step)) {
        b.fail('ssh', step);
        guesses++;
      }
    }
    assert.equal(guesses, 2882);
    // pausing to get back to 3 per step costs 10 steps: 3 per 11 steps is less
    const p = new TotpFailureBudget();
    let paused = 0;
    for (let step = STEP0; step < STEP0 + 2880; step += 11) {
      while (p.allows('ssh', step)) {
        p.fail('ssh', step);
        paused++;
      }
    }
    assert.ok(paused < guesses, `${paused}`);
  });

  test('wrong codes for an unknown door or HMAC forgeries do not use up the door', async () => {
    const v = new TokenVerifier([{ name: 'ssh', tokens: ['totp', 'hmac'], key: KEY }]);
    for (let i = 0; i < 10; i++) await v.verify('nope', wrong(at(STEP0)), at(STEP0));
    for (let i = 0; i < 10; i++)
      await v.verify('ssh', `s1.ssh.${STEP0 * 30}.aaaaaaaaaaaaaaaaaaaaaa.${'b'.repeat(43)}`, at(STEP0));
    assert.deepEqual(await v.verify('ssh', totp(KEY, at(STEP0)), at(STEP0)), { ok: true });
  });
});

describe('per-client and global rate limits', () => {
  const NOW = 1_700_000_000_000;
  test('IPv6 is counted per /64, /56 and /48: rotating /64s inside one /48 runs out', () => {
    const r = new RateLimiter(2, 60_000, { globalPerS: 10_000 });
    const count = (addresses: string[]) => addresses.filter((a) => r.take(a, NOW)).length;
    const range = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));
    assert.equal(count(range(256, (i) => `2001:db8:1:${i.toString(16)}::1`)), 8, '/64s of one /56: 4 x the budget');
    assert.equal(
      count(range(256, (i) => `2001:db8:1:${(i << 8).toString(16)}::1`)),
      32 - 8,
      '/56s of one /48: 16 x in all',
    );
    assert.equal(r.take('2001:db8:2::1', NOW), true, 'another /48 is not affected');
  });

  test('churning through many other addresses never gives a throttled address its budget back', () => {
    const r = new RateLimiter(2, 60_000, { maxClients: 100, globalPerS: 1e9 });
    assert.equal(r.take('198.18.0.2', NOW), true);
    assert.equal(r.take('198.18.0.2', NOW), true);
    assert.equal(r.take('198.18.0.2', NOW), false);
    for (let i = 0; i < 5000; i++) r.take(`198.19.${i >> 8}.${i & 255}`, NOW + 1);
    assert.equal(r.take('198.18.0.2', NOW + 2), false, 'still throttled');
    assert.ok(r.tracked <= 100);
    assert.equal(r.take('198.18.0.2', NOW + 60_000), true, 'until its own bucket refills');
  });

  test('a global limit bounds all clients together', () => {
    const r = new RateLimiter(10, 60_000, { globalPerS: 50 });
    let allowed = 0;
    for (let i = 0; i < 1000; i++) if (r.take(`198.19.${i >> 8}.${i & 255}`, NOW)) allowed++;
    assert.equal(allowed, 100, 'the burst: twice the per-second rate');
    assert.equal(r.take('198.18.0.9', NOW + 1000), true, 'refilled after a second');
  });
});
