import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Door } from '../../../src/core/door.js';
import {
  fleetMessage,
  type FleetMessage,
  MAX_MESSAGE_CHARS,
  receiveFleetMessage,
  SeenMessages,
  signFleetMessage,
} from '../../../src/core/fleet-message.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const NOW = 1_800_000_000_000;
const web: Door = {
  kind: 'sequence',
  name: 'web',
  knock: { ports: [{ port: 6000, proto: 'tcp' }], flags: { set: ['syn'], clear: [] }, withinMs: 10_000 },
  open: [
    { port: 80, proto: 'tcp' },
    { port: 443, proto: 'tcp' },
  ],
  forMs: 60_000,
  reply: 'drop',
};
const local: Door = { ...web, name: 'local', fleet: false };
const ctx = { key: KEY, cluster: 'prod', doors: [web, local], nowMs: NOW };

const grant = (over: Partial<FleetMessage> = {}): FleetMessage => ({
  ...fleetMessage('grant', web, '198.18.0.10', 'a', NOW - 1000, NOW - 1000 + 60_000),
  ...over,
});
/** Signs a body as someone holding the key would (the checks after the MAC must hold on their own). */
const signed = (m: object) => signFleetMessage(KEY, 'prod', m as FleetMessage);
/** Encodes any body with a valid MAC: what someone holding the key could write. */
function rawSigned(body: unknown): string {
  const b64 = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `f1.${b64}.${createHmac('sha256', KEY).update(`sesame-fleet\nf1\nprod\n${b64}`).digest('base64url')}`;
}

const reason = (text: unknown) => {
  const v = receiveFleetMessage(text, ctx);
  return v.ok ? 'ok' : v.reason;
};

describe('fleet messages', () => {
  test('a signed grant is accepted with its remaining time', () => {
    const v = receiveFleetMessage(signed(grant()), ctx);
    assert.ok(v.ok);
    assert.equal(v.remainingMs, 59_000);
    assert.equal(v.message.address, '198.18.0.10');
    assert.deepEqual(v.message.ports, ['80/tcp', '443/tcp']);
  });

  test('a revocation travels the same way', () => {
    const v = receiveFleetMessage(signed(grant({ kind: 'revoke' })), ctx);
    assert.ok(v.ok && v.message.kind === 'revoke');
  });

  test('a wrong key, another cluster or a tampered body is a bad signature', () => {
    const m = grant();
    assert.equal(reason(signFleetMessage(Buffer.from('another key of thirty-two bytes!'), 'prod', m)), 'bad-signature');
    assert.equal(reason(signFleetMessage(KEY, 'staging', m)), 'bad-signature');
    const [v, body, sig] = signed(m).split('.');
    const evil = Buffer.from(Buffer.from(body, 'base64url').toString().replace('198.18.0.10', '198.18.0.66')).toString(
      'base64url',
    );
    assert.equal(reason(`${v}.${evil}.${sig}`), 'bad-signature');
    assert.equal(reason(`${v}.${body}.`), 'malformed');
    assert.equal(reason(`${v}.${body}.${'A'.repeat(43)}`), 'bad-signature');
  });

  test('garbage never throws and is dropped as malformed', () => {
    for (const junk of [undefined, null, 42, {}, '', 'f1', 'f1..', 'f2.a.b', 'f1.a.b.c', 'f1.$$$.abc', '\u0000'])
      assert.equal(reason(junk), 'malformed', String(junk));
    assert.equal(reason(`f1.${'A'.repeat(MAX_MESSAGE_CHARS)}.x`), 'oversized');
  });

  test('a signed body that is not JSON, or has odd fields, is dropped', () => {
    const b64 = Buffer.from('not json').toString('base64url');
    const sig = createHmac('sha256', KEY).update(`sesame-fleet\nf1\nprod\n${b64}`).digest('base64url');
    assert.equal(reason(`f1.${b64}.${sig}`), 'malformed');
    assert.equal(reason(rawSigned([1, 2])), 'bad-field');
    assert.equal(reason(rawSigned({ ...grant(), extra: 1 })), 'bad-field');
    assert.equal(reason(rawSigned({ ...grant(), kind: 'open-everything' })), 'bad-field');
    assert.equal(reason(rawSigned({ ...grant(), expiresAt: '9e99' })), 'bad-field');
    assert.equal(reason(rawSigned({ ...grant(), expiresAt: 1e300 })), 'bad-field');
    assert.equal(reason(rawSigned({ ...grant(), ports: ['22/sctp'] })), 'bad-field');
    assert.equal(reason(rawSigned({ ...grant(), origin: '../etc' })), 'bad-field');
    assert.equal(reason(rawSigned({ ...grant(), id: 'short' })), 'bad-field');
    assert.equal(reason(rawSigned({ ...grant(), door: 'web; flush ruleset' })), 'bad-field');
  });

  test('an unknown door or a door kept local opens nothing', () => {
    assert.equal(reason(signed(grant({ door: 'admin' }))), 'unknown-door');
    assert.equal(reason(signed(grant({ door: 'local' }))), 'door-not-in-fleet');
  });

  test('anything but a plain address is refused (nft syntax, zones, names, CIDRs)', () => {
    for (const address of [
      '198.18.0.10 }; flush ruleset; add element inet sesame web_open_4 { 0.0.0.0/0',
      '0.0.0.0/0',
      'fe80::1%eth0',
      'localhost',
      '198.18.0.256',
      '',
      '1.2.3.4\n',
    ])
      assert.equal(reason(signed(grant({ address }))), 'bad-address', address);
    assert.equal(reason(signed(grant({ address: 'fd00:5e5a::10' }))), 'ok');
  });

  test('ports the door does not open are refused', () => {
    assert.equal(reason(signed(grant({ ports: ['22/tcp'] }))), 'ports-not-of-door');
    assert.equal(reason(signed(grant({ ports: ['80/tcp'] }))), 'ok');
  });

  test("a lifetime longer than the door's `for` is refused", () => {
    assert.equal(reason(signed(grant({ issuedAt: NOW, expiresAt: NOW + 60_001 }))), 'lifetime-beyond-for');
    assert.equal(reason(signed(grant({ issuedAt: NOW, expiresAt: NOW + 86_400_000 }))), 'lifetime-beyond-for');
    assert.equal(reason(signed(grant({ issuedAt: NOW, expiresAt: NOW }))), 'lifetime-beyond-for');
    assert.equal(reason(signed(grant({ issuedAt: NOW + 10, expiresAt: NOW }))), 'lifetime-beyond-for');
  });

  test('a message over, or issued in the future, is refused', () => {
    assert.equal(reason(signed(grant({ issuedAt: NOW - 70_000, expiresAt: NOW - 10_000 }))), 'expired');
    assert.equal(reason(signed(grant({ issuedAt: NOW + 60_000, expiresAt: NOW + 100_000 }))), 'from-the-future');
  });

  test('the applied time never exceeds the door `for`, whatever the clocks say', () => {
    // issued "now" by a sender whose fleet clock is 4 s ahead (still inside the future bound)
    const v = receiveFleetMessage(signed(grant({ issuedAt: NOW + 4000, expiresAt: NOW + 64_000 })), ctx);
    assert.ok(v.ok);
    assert.equal(v.remainingMs, 60_000);
  });
});

describe('flaw 3: a message must be live on the local clock too', () => {
  const on = (text: string, fleetNow: number, localNow: number) =>
    receiveFleetMessage(text, { ...ctx, nowMs: fleetNow, local: { nowMs: localNow, maxOffsetMs: 30_000 } });

  test('a fleet clock rewound within the bound brings no ended grant back, and lengthens none', () => {
    // ended 20 s ago; a TIME shifted by -25 s makes it look live on the fleet clock
    const ended = signed(grant({ issuedAt: NOW - 80_000, expiresAt: NOW - 20_000 }));
    const rewound = on(ended, NOW - 25_000, NOW);
    assert.ok(!rewound.ok && rewound.reason === 'expired', 'expired on the local clock');
    const running = on(signed(grant({ issuedAt: NOW - 50_000, expiresAt: NOW + 10_000 })), NOW - 25_000, NOW);
    assert.ok(running.ok && running.remainingMs === 10_000, 'the local clock caps what is left');
    // positive control: the same ended grant on the fleet clock alone would have passed
    assert.equal(receiveFleetMessage(ended, { ...ctx, nowMs: NOW - 25_000 }).ok, true);
  });

  test('a message from beyond the local clock and the bound is refused', () => {
    const ahead = signed(grant({ issuedAt: NOW + 40_000, expiresAt: NOW + 90_000 }));
    const v = on(ahead, NOW + 40_000, NOW);
    assert.ok(!v.ok && v.reason === 'from-the-future');
    assert.ok(on(signed(grant({ issuedAt: NOW + 20_000, expiresAt: NOW + 70_000 })), NOW + 20_000, NOW).ok);
  });
});

describe('seen message ids', () => {
  test('an id applies once until its message expires', () => {
    const seen = new SeenMessages();
    assert.equal(seen.first('id-1', NOW + 1000, NOW), true);
    assert.equal(seen.first('id-1', NOW + 1000, NOW + 500), false);
    assert.equal(seen.first('id-1', NOW + 1000, NOW + 1000), true);
  });

  test('bounded: the ids that expire first are forgotten first', () => {
    const seen = new SeenMessages(3);
    seen.first('a', NOW + 10, NOW);
    seen.first('b', NOW + 30, NOW);
    seen.first('c', NOW + 20, NOW);
    seen.first('d', NOW + 40, NOW);
    assert.equal(seen.size, 3);
    assert.equal(seen.first('b', NOW + 30, NOW), false);
    assert.equal(seen.first('a', NOW + 10, NOW), true);
  });
});
