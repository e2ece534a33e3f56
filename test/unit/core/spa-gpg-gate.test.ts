import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as pgp from 'openpgp';
import type { SpaDoor } from '../../../src/core/door.js';
import { SpaGate } from '../../../src/core/spa/admit.js';
import { GPG_DECRYPT_COST, type GpgPolicy } from '../../../src/core/spa/gpg-policy.js';
import { formatSpaText } from '../../../src/core/spa/message.js';
import { checkWire, MAX_PACKET_CHARS } from '../../../src/core/spa/packet.js';
import { SPA_DEFAULTS } from '../../../src/core/spa/policy.js';

// the stock fwknop 2.6.10 client's packets to gpg 2.2 keys: test/fixtures/gpg/make.sh
const DIR = join(import.meta.dirname, '..', '..', '..', '..', 'test', 'fixtures', 'gpg');
const read = (name: string) => readFileSync(join(DIR, name), 'utf8');
const FPR = Object.fromEntries(
  read('fingerprints.txt')
    .trim()
    .split('\n')
    .map((l) => l.split(' ')),
) as Record<'server' | 'nopw' | 'client' | 'other', string>;
const HMAC_KEY = Buffer.from('c2VzYW1lIGdwZyBmaXh0dXJlIGhtYWMga2V5IDAxMjM0NTY3ODk=', 'base64');

function wire(name: string): string {
  const w = checkWire(read(name));
  assert.ok(w.ok, name);
  return w.wire;
}
/** The fixtures keep the client's clock (make.sh): the gate sees them at that time. */
const PACKET_MS = 1796309940_000;

function door(gpg: Partial<GpgPolicy> = {}, name = 'fwknop1'): SpaDoor {
  return {
    kind: 'spa',
    name,
    open: [{ proto: 'tcp', port: 22 }],
    forMs: 30_000,
    reply: 'drop',
    spa: {
      sources: null,
      destinations: null,
      key: null,
      gpg: {
        secretKeys: read('server-secret.asc'),
        secretFile: 'sesame-secret.asc',
        passphrase: 'server-pass',
        decryptId: null,
        publicKeys: read('client-public.asc') + read('other-public.asc'),
        publicFile: 'sesame-signers.asc',
        requireSig: true,
        remoteIds: [FPR.client.slice(-8)],
        fingerprints: null,
        hmac: null,
        ...gpg,
      },
      openPorts: [{ proto: 'tcp', port: 22 }],
      restrictPorts: [],
      maxTimeoutMs: SPA_DEFAULTS.maxTimeoutMs,
      requireSource: false,
      usernames: null,
      expiresAtMs: null,
      maxAgeMs: SPA_DEFAULTS.maxAgeMs,
      origin: 'access.conf:1',
    },
  };
}

interface Run {
  reason: string;
  detail: string;
  firstUses: number;
  spent: number[];
}

async function admit(gate: SpaGate, w: string, nowMs = PACKET_MS): Promise<Run> {
  let firstUses = 0;
  const spent: number[] = [];
  const a = await gate.admit(
    w,
    '198.18.0.2',
    '198.18.0.1',
    nowMs,
    () => (firstUses++, true),
    (c) => (spent.push(c), true),
  );
  return {
    reason: a.ok ? `opened ${a.address} ${a.ports.map((p) => p.port)}` : a.reason,
    detail: a.ok ? '' : a.detail,
    firstUses,
    spent,
  };
}

/** gpg writes the first packet in the old format ("hQ" in base64), openpgp.js in the new one. */
function oldFormat(bytes: Uint8Array): Buffer {
  const b = Buffer.from(bytes);
  assert.equal(b[0], 0xc1, 'a new-format session key packet');
  const [len, hdr] = b[1] < 192 ? [b[1], 2] : [((b[1] - 192) << 8) + b[2] + 192, 3];
  return Buffer.concat([Buffer.from([0x85, len >> 8, len & 255]), b.subarray(hdr)]);
}

/** A packet as the stock client frames it, of any plaintext, encrypted to the server and signed by the client. */
async function craft(plain: Uint8Array): Promise<string> {
  const serverKey = await pgp.readKey({ armoredKey: read('server-public.asc') });
  const signer = await pgp.decryptKey({
    privateKey: await pgp.readPrivateKey({ armoredKey: read('client-secret.asc') }),
    passphrase: 'client-pass',
  });
  const out = await pgp.encrypt({
    message: await pgp.createMessage({ binary: plain }),
    encryptionKeys: serverKey,
    signingKeys: signer,
    // signed at the fixtures' time, the gate's clock here
    date: new Date(PACKET_MS),
    format: 'binary',
    config: { preferredCompressionAlgorithm: pgp.enums.compression.zlib },
  });
  return oldFormat(out).toString('base64').replace(/=+$/, '').slice(2);
}

describe('SPA gate: GnuPG stanzas', () => {
  test('a packet encrypted to the server key and signed by the pinned client opens its port', async () => {
    const r = await admit(new SpaGate([door()]), wire('signed.pkt'));
    assert.equal(r.reason, 'opened 198.18.0.2 22');
    assert.equal(r.firstUses, 1);
    assert.deepEqual(r.spent, [GPG_DECRYPT_COST]);
  });

  test('unsigned, signed by a key not pinned, or signed by a key not in the signers file: refused, each with its reason', async () => {
    const gate = new SpaGate([door()]);
    assert.equal((await admit(gate, wire('unsigned.pkt'))).reason, 'bad-signature');
    assert.equal((await admit(gate, wire('other-signed.pkt'))).reason, 'signer-refused');
    const onlyClient = new SpaGate([door({ publicKeys: read('client-public.asc'), remoteIds: null })]);
    assert.equal((await admit(onlyClient, wire('other-signed.pkt'))).reason, 'bad-signature');
    // the control: the same gates open the pinned client's packet
    assert.match((await admit(gate, wire('signed.pkt'))).reason, /^opened/);
    assert.match((await admit(onlyClient, wire('signed.pkt'))).reason, /^opened/);
  });

  test('a refused packet never reaches the replay cache; GPG_DISABLE_SIG opens an unsigned one', async () => {
    const r = await admit(new SpaGate([door()]), wire('unsigned.pkt'));
    assert.equal(r.firstUses, 0);
    const off = new SpaGate([door({ requireSig: false, publicKeys: null, remoteIds: null })]);
    assert.match((await admit(off, wire('unsigned.pkt'))).reason, /^opened/);
  });

  test('a packet for another server key, truncated, with a byte changed or of garbage does not decrypt', async () => {
    const gate = new SpaGate([door()]);
    const w = wire('signed.pkt');
    assert.equal((await admit(gate, wire('nopw-signed.pkt'))).reason, 'undecryptable');
    assert.equal((await admit(gate, w.slice(0, 600))).reason, 'undecryptable');
    assert.equal((await admit(gate, w.slice(0, 401))).reason, 'undecryptable');
    const flipped = w.slice(0, 700) + (w[700] === 'A' ? 'B' : 'A') + w.slice(701);
    assert.equal((await admit(gate, flipped)).reason, 'undecryptable');
    assert.equal((await admit(gate, 'A'.repeat(900))).reason, 'undecryptable');
    assert.equal((await admit(gate, '/'.repeat(1500))).reason, 'undecryptable');
  });

  test('a packet shorter than fwknopd takes for GnuPG is not decrypted at all', async () => {
    const r = await admit(new SpaGate([door()]), wire('signed.pkt').slice(0, 399));
    assert.equal(r.reason, 'bad-hmac');
    assert.deepEqual(r.spent, []);
  });

  test('a compressed packet that would expand past an SPA message is refused (decompression bomb)', async () => {
    const bomb = await craft(Buffer.alloc(200_000, 0x20));
    assert.ok(bomb.length <= MAX_PACKET_CHARS, `${bomb.length} characters fit in one packet`);
    const r = await admit(new SpaGate([door()]), bomb);
    assert.equal(r.reason, 'undecryptable');
    // stopped while expanding, not after 200 KB were in memory
    assert.match(r.detail, /Maximum decompressed message size exceeded/);
    // the control: the same framing of a real message, padded to a few hundred bytes, opens
    const text = formatSpaText({
      username: 'root',
      timestamp: PACKET_MS / 1000,
      allowIp: '198.18.0.2',
      access: [{ proto: 'tcp', port: 22 }],
      random: '1234567890123456',
    });
    assert.match((await admit(new SpaGate([door()]), await craft(Buffer.from(text)))).reason, /^opened/);
  });

  test('a packet over 1500 characters is not an SPA packet', () => {
    const w = checkWire('A'.repeat(MAX_PACKET_CHARS + 1));
    assert.equal(w.ok ? 'ok' : w.reason, 'not-spa');
  });

  test('a packet older than the stanza allows is refused after it decrypted', async () => {
    const r = await admit(new SpaGate([door()]), wire('signed.pkt'), PACKET_MS + 10 * 60_000);
    assert.equal(r.reason, 'too-old');
  });

  test('with HMAC_KEY the HMAC (over the base64 with "hQ") is checked first: a wrong one costs one HMAC and no decryption', async () => {
    const good = new SpaGate([door({ hmac: { key: HMAC_KEY, type: 'sha256' } })]);
    const r = await admit(good, wire('hmac-signed.pkt'));
    assert.equal(r.reason, 'opened 198.18.0.2 22');
    assert.deepEqual(r.spent, [1]);
    const wrong = new SpaGate([
      door({ hmac: { key: Buffer.from('another key of the HMAC, 32 byte'), type: 'sha256' } }),
    ]);
    const w = await admit(wrong, wire('hmac-signed.pkt'));
    assert.equal(w.reason, 'bad-hmac');
    assert.equal(w.firstUses, 0);
    // a packet without HMAC is refused by a stanza that has one
    assert.equal((await admit(good, wire('signed.pkt'))).reason, 'bad-hmac');
  });

  test('the replay cache refuses a packet seen before', async () => {
    const gate = new SpaGate([door()]);
    const seen = new Set<string>();
    const once = (w: string) => gate.admit(w, '198.18.0.2', undefined, PACKET_MS, () => !seen.has(w) && !!seen.add(w));
    assert.ok((await once(wire('signed.pkt'))).ok);
    const again = await once(wire('signed.pkt'));
    assert.equal(again.ok ? 'opened' : again.reason, 'replayed');
  });

  test('stanzas are tried in order: a stanza pinning another signer passes the packet on to the next', async () => {
    const gate = new SpaGate([door({ remoteIds: [FPR.other.slice(-8)] }, 'fwknop1'), door({}, 'fwknop2')]);
    const a = await gate.admit(wire('signed.pkt'), '198.18.0.2', undefined, PACKET_MS, () => true);
    assert.equal(a.ok ? a.door.name : a.reason, 'fwknop2');
  });
});
