import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { test } from 'node:test';
import { ipFamily } from '../../src/core/ip-address.js';

test('ipFamily agrees with node:net on addresses and refuses what nft must never see', () => {
  const same = [
    '198.18.0.10',
    '0.0.0.0',
    '255.255.255.255',
    '256.1.1.1',
    '1.2.3',
    '1.2.3.4.5',
    '::',
    '::1',
    'fd00:5e5a::10',
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    '::ffff:198.18.0.1',
    '1:2:3:4:5:6:1.2.3.4',
    '1:2:3:4:5:6:7:1.2.3.4',
    'fe80::',
    'gggg::1',
    '12345::',
    ':1',
    '1:',
    '',
    'localhost',
  ];
  for (const s of same) assert.equal(ipFamily(s), isIP(s), s);
  // node accepts these; sesame doesn't (zones, leading zeros that some parsers read as octal)
  for (const s of ['fe80::1%eth0', '010.1.1.1', '1.2.3.4 ', '1.2.3.4/32']) assert.equal(ipFamily(s), 0, s);
});
