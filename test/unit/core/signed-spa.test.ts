import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  ed25519PublicText,
  newEd25519Pair,
  parseEd25519Private,
  parseEd25519Public,
} from '../../../src/core/spa/ed25519-keys.js';
import { type SignerKeys, SignedSpaGate } from '../../../src/core/spa/signed-admit.js';
import { decodeSignedPacket, looksSigned, MAX_SIGNED_BYTES } from '../../../src/core/spa/signed-packet.js';
import { type KnockRequest, signEd25519Packet } from '../../../src/core/spa/signed-sign.js';
import { checkWire } from '../../../src/core/spa/packet.js';
import { signedDoor } from './signed-fixtures.js';

const NOW = Date.UTC(2026, 11, 3, 15, 0, 0);

const alice = generateKeyPairSync('ed25519');
const bob = generateKeyPairSync('ed25519');
const users = new Map<string, SignerKeys>([
  ['alice', { spa: [alice.publicKey], ssh: new Map() }],
  ['bob', { spa: [bob.publicKey], ssh: new Map() }],
]);
const allowed = new Map([
  ['ssh', new Set(['alice', 'bob'])],
  ['web', new Set(['bob'])],
]);
const gate = new SignedSpaGate([signedDoor('ssh'), signedDoor('web')], {
  keys: (u) => users.get(u),
  mayUse: (d, u) => allowed.get(d.name)?.has(u) ?? false,
});

const request = (over: Partial<KnockRequest> = {}): KnockRequest => ({
  user: 'alice',
  door: 'ssh',
  address: '198.18.0.2',
  lifetimeS: 0,
  ports: [{ proto: 'tcp', port: 22 }],
  timestampMs: NOW,
  ...over,
});

function admit(packet: Uint8Array, seen = new Set<string>(), spend = () => true) {
  return gate.admit(packet, '198.18.0.9', NOW, (k) => !seen.has(k) && !!seen.add(k), spend);
}

describe('signed SPA packets (ed25519)', () => {
  test('a packet signed with the user key opens the ports it asks for, for the address inside', async () => {
    const a = await admit(signEd25519Packet(request(), alice.privateKey));
    assert.ok(a.ok, JSON.stringify(a));
    assert.equal(a.user, 'alice');
    assert.equal(a.address, '198.18.0.2');
    assert.deepEqual(a.ports, [{ proto: 'tcp', port: 22 }]);
    assert.equal(a.timeoutMs, 30_000);
  });

  test('the packet round-trips field for field, IPv6 included', () => {
    const p = signEd25519Packet(request({ address: 'fd00:5e5a::2', lifetimeS: 90, user: 'zoë' }), alice.privateKey);
    const d = decodeSignedPacket(p);
    assert.ok(d.ok, JSON.stringify(d));
    assert.equal(d.packet.address, 'fd00:5e5a::2');
    assert.equal(d.packet.user, 'zoë');
    assert.equal(d.packet.lifetimeS, 90);
    assert.equal(d.packet.timestampMs, NOW);
    assert.equal(d.packet.signature.length, 64);
  });

  test('a packet is never taken for an fwknop packet, nor the other way round', () => {
    const p = signEd25519Packet(request(), alice.privateKey);
    assert.ok(looksSigned(p));
    assert.equal(checkWire(p).ok, false);
    assert.equal(looksSigned(Buffer.from('U2FsdGVkX1+abc')), false);
  });

  test('every truncation of a valid packet is refused as malformed, never thrown', async () => {
    const p = signEd25519Packet(request(), alice.privateKey);
    for (let n = 0; n < p.length; n++) {
      const a = await admit(p.subarray(0, n));
      assert.equal(a.ok, false);
      assert.equal(!a.ok && a.reason, 'not-spa', `cut at ${n}`);
    }
  });

  test('a byte appended, or an oversized packet, is refused', async () => {
    const p = signEd25519Packet(request(), alice.privateKey);
    const a = await admit(Buffer.concat([p, Buffer.from([0])]));
    assert.ok(!a.ok && a.reason === 'not-spa' && /after the signature/.test(a.detail), JSON.stringify(a));
    const big = Buffer.alloc(MAX_SIGNED_BYTES + 1, 0);
    big.set(p);
    const b = await admit(big);
    assert.ok(!b.ok && b.reason === 'not-spa' && /more than/.test(b.detail), JSON.stringify(b));
  });

  test('every single flipped bit in the signed part or the signature is refused', async () => {
    const p = signEd25519Packet(request(), alice.privateKey);
    for (let i = 0; i < p.length; i++) {
      const q = Buffer.from(p);
      q[i] ^= 0x01;
      const a = await admit(q);
      assert.equal(a.ok, false, `bit flipped at byte ${i} was accepted`);
    }
  });

  test("a packet naming alice but signed with bob's key is refused as a bad signature", async () => {
    const a = await admit(signEd25519Packet(request({ user: 'alice' }), bob.privateKey));
    assert.ok(!a.ok && a.reason === 'bad-signature', JSON.stringify(a));
    // the positive control: bob's key for bob
    assert.ok((await admit(signEd25519Packet(request({ user: 'bob' }), bob.privateKey))).ok);
  });

  test('a key the server has never seen is refused; so is an unknown user and a user the door does not name', async () => {
    const stranger = generateKeyPairSync('ed25519');
    const a = await admit(signEd25519Packet(request(), stranger.privateKey));
    assert.ok(!a.ok && a.reason === 'bad-signature');
    const b = await admit(signEd25519Packet(request({ user: 'mallory' }), stranger.privateKey));
    assert.ok(!b.ok && b.reason === 'unknown-user');
    const c = await admit(signEd25519Packet(request({ door: 'web' }), alice.privateKey));
    assert.ok(!c.ok && c.reason === 'user-not-allowed', JSON.stringify(c));
    const d = await admit(signEd25519Packet(request({ door: 'nope' }), alice.privateKey));
    assert.ok(!d.ok && d.reason === 'no-door');
  });

  test('a replay is refused; the cache is asked only once the signature holds', async () => {
    const seen = new Set<string>();
    const p = signEd25519Packet(request(), alice.privateKey);
    assert.ok((await admit(p, seen)).ok);
    const again = await admit(p, seen);
    assert.ok(!again.ok && again.reason === 'replayed');
    const forged = Buffer.from(p);
    forged[forged.length - 1] ^= 1;
    const before = seen.size;
    await admit(forged, seen);
    assert.equal(seen.size, before, 'a forgery reached the replay cache');
  });

  test('timestamps outside max_age either way are refused', async () => {
    for (const skew of [-121_000, 121_000]) {
      const a = await admit(signEd25519Packet(request({ timestampMs: NOW + skew }), alice.privateKey));
      assert.ok(!a.ok && a.reason === 'too-old', `skew ${skew}`);
    }
    assert.ok((await admit(signEd25519Packet(request({ timestampMs: NOW - 119_000 }), alice.privateKey))).ok);
  });

  test('ports outside the door are refused; the lifetime asked for is capped by max_for', async () => {
    const a = await admit(signEd25519Packet(request({ ports: [{ proto: 'tcp', port: 23 }] }), alice.privateKey));
    assert.ok(!a.ok && a.reason === 'ports-refused');
    const b = await admit(signEd25519Packet(request({ lifetimeS: 9999 }), alice.privateKey));
    assert.ok(b.ok && b.timeoutMs === 300_000);
  });

  test('"open my source address" is refused unless the door allows it', async () => {
    const a = await admit(signEd25519Packet(request({ address: null }), alice.privateKey));
    assert.ok(!a.ok && a.reason === 'source-required');
    const open = new SignedSpaGate([signedDoor('ssh', { requireSource: false })], {
      keys: (u) => users.get(u),
      mayUse: () => true,
    });
    const b = await open.admit(
      signEd25519Packet(request({ address: null }), alice.privateKey),
      '::ffff:198.18.0.9',
      NOW,
      () => true,
    );
    assert.ok(b.ok && b.address === '198.18.0.9', JSON.stringify(b));
  });

  test('a source over its budget is refused before any signature is checked', async () => {
    let spent = 0;
    const a = await admit(signEd25519Packet(request(), alice.privateKey), new Set(), () => (spent++, false));
    assert.ok(!a.ok && a.reason === 'over-budget');
    assert.equal(spent, 1);
  });
});

describe('ed25519 key text', () => {
  test('a new pair: the PEM signs, the 44-character text verifies', async () => {
    const pair = newEd25519Pair();
    assert.match(pair.publicText, /^[A-Za-z0-9+/]{43}=$/);
    const priv = parseEd25519Private(pair.privatePem) as KeyObject;
    assert.equal(typeof priv, 'object');
    assert.equal(ed25519PublicText(priv), pair.publicText);
    const pub = parseEd25519Public(pair.publicText) as KeyObject;
    const g = new SignedSpaGate([signedDoor()], { keys: () => ({ spa: [pub], ssh: new Map() }), mayUse: () => true });
    assert.ok((await g.admit(signEd25519Packet(request(), priv), '198.18.0.9', NOW, () => true)).ok);
  });

  test('bad key text names the problem', () => {
    assert.match(String(parseEd25519Public('abc')), /32 bytes in base64/);
    assert.match(String(parseEd25519Private('nope')), /not a PEM private key/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    assert.match(String(parseEd25519Private(rsa.toString())), /a rsa key, expected ed25519/);
  });
});
