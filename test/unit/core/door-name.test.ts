import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { doorName } from '../../../src/config/knockd-plan.js';
import { DOOR_NAME_MAX, isDoorName } from '../../../src/core/door-name.js';
import { makeHmacToken, parseHmacToken } from '../../../src/core/knock-token.js';

describe('the door-name rule', () => {
  test('letters, digits, _ and -, a letter first, at most 24', () => {
    for (const ok of ['ssh', 'a', 'Web_2', 'a-b', 'x'.repeat(DOOR_NAME_MAX)]) assert.equal(isDoorName(ok), true, ok);
    for (const bad of ['', '2fa', '_x', 'a b', 'a.b', 'a;b', 'x'.repeat(DOOR_NAME_MAX + 1), 'ä', 7, undefined])
      assert.equal(isDoorName(bad), false, String(bad));
  });

  test('a knock token embeds exactly the names the rule allows', () => {
    const key = Buffer.from('0123456789abcdef0123');
    const long = 'x'.repeat(DOOR_NAME_MAX);
    assert.equal(parseHmacToken(makeHmacToken(key, long, 1_700_000_000_000))?.door, long);
    assert.equal(parseHmacToken(makeHmacToken(key, `${long}x`, 1_700_000_000_000)), null);
  });

  test('a knockd section always becomes a name the rule allows', () => {
    const taken = new Set<string>();
    for (const section of ['open SSH', 'open SSH', '22', '...', 'a-very-long-door-name-from-knockd', 'ä'.repeat(30)])
      assert.ok(isDoorName(doorName(section, taken)), section);
  });
});
