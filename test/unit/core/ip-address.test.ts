import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { test } from 'node:test';
import { addressBytes, addressFamily, ipFamily } from '../../../src/core/ip-address.js';

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

test('addressBytes gives the bytes node:net packs into a SocketAddress, for every address form', () => {
  const cases: [string, string][] = [
    ['198.18.0.10', 'c612000a'],
    ['0.0.0.0', '00000000'],
    ['::', '0'.repeat(32)],
    ['::1', `${'0'.repeat(31)}1`],
    ['fd00:5e5a::10', 'fd005e5a000000000000000000000010'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['::ffff:198.18.0.1', '00000000000000000000ffffc6120001'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
    ['FD00::ABCD', 'fd00000000000000000000000000abcd'],
  ];
  for (const [text, hex] of cases) assert.equal(Buffer.from(addressBytes(text) ?? []).toString('hex'), hex, text);
  for (const bad of ['1.2.3', 'fe80::1%eth0', '1::2::3', '']) assert.equal(addressBytes(bad), null, bad);
});

test('addressFamily of a checked address: 6 for every IPv6 form, 4 for IPv4', () => {
  for (const a of ['198.18.0.1', '0.0.0.0']) assert.equal(addressFamily(a), 4);
  for (const a of ['fd00:5e5a::1', '::', '::ffff:198.18.0.1']) assert.equal(addressFamily(a), 6);
});
