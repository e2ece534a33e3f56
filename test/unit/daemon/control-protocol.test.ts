import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_GRANT_MS, parseControlRequest } from '../../../src/daemon/control-protocol.js';

describe('control socket requests', () => {
  test('a grant with a door, an address and a lifetime is accepted', () => {
    assert.deepEqual(parseControlRequest('{"op":"grant","door":"web","address":"198.18.0.10","forMs":60000}'), {
      op: 'grant',
      door: 'web',
      address: '198.18.0.10',
      forMs: 60000,
    });
    assert.deepEqual(parseControlRequest('{"op":"revoke","door":"ssh-1","address":"fd00:5e5a::a"}'), {
      op: 'revoke',
      door: 'ssh-1',
      address: 'fd00:5e5a::a',
    });
  });

  test('hostile or malformed requests are refused with a reason, never passed on', () => {
    const cases: [string, RegExp][] = [
      ['not json', /not JSON/],
      ['[1,2]', /not an object/],
      ['null', /not an object/],
      ['{"op":"flush","door":"web","address":"198.18.0.10"}', /op must be/],
      ['{"op":"grant","door":"web; flush ruleset","address":"198.18.0.10"}', /door must be/],
      ['{"op":"grant","door":"web","address":"198.18.0.10 }; flush ruleset"}', /address must be/],
      ['{"op":"grant","door":"web","address":"198.18.0.0/24"}', /address must be/],
      ['{"op":"grant","door":"web","address":"fe80::1%eth0"}', /address must be/],
      ['{"op":"grant","door":"web","address":["198.18.0.10"]}', /address must be/],
      ['{"op":"grant","door":"web","address":"198.18.0.10","forMs":-1}', /forMs must be/],
      ['{"op":"grant","door":"web","address":"198.18.0.10","forMs":1500.5}', /forMs must be/],
      [`{"op":"grant","door":"web","address":"198.18.0.10","forMs":${MAX_GRANT_MS + 1}}`, /forMs must be/],
      ['{"op":"grant","door":"web","address":"198.18.0.10","forMs":"60000"}', /forMs must be/],
      [`{"op":"grant","door":"${'a'.repeat(5000)}","address":"198.18.0.10"}`, /too long/],
    ];
    for (const [line, reason] of cases) {
      const r = parseControlRequest(line);
      assert.equal(typeof r, 'string', line.slice(0, 80));
      assert.match(r as string, reason);
    }
  });
});
