import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressPrefix } from '../../../src/core/ip-address.js';
import { WrongCodeBudget } from '../../../src/sources/http/wrong-code-budget.js';

describe('flaw 4: one address locked TOTP users out of a door', () => {
  for (const [family, attacker, neighbour, user] of [
    ['a /24', '198.18.7.10', '198.18.7.200', '198.18.9.2'],
    ['a /48', 'fd00:5e5a:1:2::10', 'fd00:5e5a:1:ffff::1', 'fd00:5e5a:2::2'],
  ] as const) {
    test(`3 wrong codes, then 1 at each step's start, from ${family}: the network is throttled, a user elsewhere is not`, () => {
      const b = new WrongCodeBudget();
      let userTries = 0;
      for (let step = 100; step < 121; step++) {
        // the attack of the report: the budget's worth of wrong codes at the start of each step
        while (b.allows('ssh', attacker, step)) b.fail('ssh', attacker, step);
        // positive control: the attacker's whole network is throttled, another address in it too
        assert.equal(b.allows('ssh', attacker, step), false);
        assert.equal(b.allows('ssh', neighbour, step), false);
        if (b.allows('ssh', user, step)) userTries++;
      }
      assert.equal(userTries, 21, 'the user may try a code in every one of the 21 steps');
    });
  }

  test('many networks together still exhaust the door-wide budget: guessing stays bounded', () => {
    const b = new WrongCodeBudget();
    let guesses = 0;
    for (let step = 0; step < 100; step++)
      for (let net = 0; net < 50; net++) {
        const a = `198.18.${net}.1`;
        if (b.allows('ssh', a, step)) {
          guesses++;
          b.fail('ssh', a, step);
        }
      }
    assert.ok(guesses <= 9 + 99 * 3, `at most 3 guesses a step once under attack: ${guesses}`);
    assert.ok(guesses >= 99 * 3, `the budget is used: ${guesses}`);
  });

  test('prefixes: /24 and /48 by default, canonical text, other lengths on request', () => {
    assert.equal(addressPrefix('198.18.7.10', 24, 48), '198.18.7.0/24');
    assert.equal(addressPrefix('FD00:5E5A:1:2::10', 24, 48), 'fd00:5e5a:1::/48');
    assert.equal(addressPrefix('fd00:5e5a:1:2::10', 24, 64), 'fd00:5e5a:1:2::/64');
    assert.equal(addressPrefix('198.18.7.10', 16, 48), '198.18.0.0/16');
    assert.equal(new WrongCodeBudget({ ipv4: 32, ipv6: 128 }).source('198.18.7.10'), '198.18.7.10/32');
  });
});
