import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { checkWire } from '../../../src/core/spa/packet.js';
import { openGpgPacket } from '../../../src/core/spa/gpg.js';
import { type GpgKeyring, openGpgKeyring } from '../../../src/core/spa/gpg-keyring.js';
import type { GpgPolicy } from '../../../src/core/spa/gpg-policy.js';

// keys made by gpg 2.2 and packets by the stock fwknop 2.6.10 client: test/fixtures/gpg/make.sh
const DIR = join(import.meta.dirname, '..', '..', '..', '..', 'test', 'fixtures', 'gpg');
const read = (name: string) => readFileSync(join(DIR, name), 'utf8');
const FPR = Object.fromEntries(
  read('fingerprints.txt')
    .trim()
    .split('\n')
    .map((l) => l.split(' ')),
) as Record<'server' | 'nopw' | 'client' | 'other', string>;

function wire(name: string): string {
  const w = checkWire(read(name));
  assert.ok(w.ok, `${name}: ${JSON.stringify(w)}`);
  return w.wire;
}

const policy = (over: Partial<GpgPolicy> = {}): GpgPolicy => ({
  secretKeys: read('server-secret.asc'),
  secretFile: 'server-secret.asc',
  passphrase: 'server-pass',
  decryptId: null,
  publicKeys: read('client-public.asc') + read('other-public.asc'),
  publicFile: 'public.asc',
  requireSig: true,
  remoteIds: null,
  fingerprints: null,
  hmac: null,
  ...over,
});

async function keyring(p: GpgPolicy): Promise<GpgKeyring> {
  const k = await openGpgKeyring(p);
  assert.ok(k.ok, k.ok ? '' : JSON.stringify(k.problems));
  return k.keyring;
}

async function open(name: string, p: GpgPolicy) {
  return openGpgPacket(wire(name), p, await keyring(p), Date.now(), 120_000);
}

describe('GnuPG SPA packets of the stock fwknop client', () => {
  test('a signed packet decrypts to its message and names its signer', async () => {
    const r = await open('signed.pkt', policy());
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.message.allowIp, '198.18.0.2');
    assert.deepEqual(r.message.access, [{ proto: 'tcp', port: 22 }]);
    assert.equal(r.signer?.fingerprint, FPR.client);
    assert.equal(r.signer?.id, FPR.client.slice(-8));
  });

  test('GPG_REMOTE_ID and GPG_FINGERPRINT_ID accept the signer they name and refuse another', async () => {
    const client = FPR.client.slice(-8);
    assert.ok((await open('signed.pkt', policy({ remoteIds: [client] }))).ok);
    assert.ok((await open('signed.pkt', policy({ fingerprints: [FPR.client] }))).ok);
    const byOther = await open('other-signed.pkt', policy({ remoteIds: [client] }));
    assert.equal(byOther.ok ? 'opened' : byOther.reason, 'signer-refused');
    const byFpr = await open('other-signed.pkt', policy({ fingerprints: [FPR.client] }));
    assert.equal(byFpr.ok ? 'opened' : byFpr.reason, 'signer-refused');
    // both lists set: each must name the signer (fwknopd checks the fingerprints, then the IDs)
    const both = await open('signed.pkt', policy({ fingerprints: [FPR.client], remoteIds: [FPR.other.slice(-8)] }));
    assert.equal(both.ok ? 'opened' : both.reason, 'signer-refused');
  });

  test('a signature by a key not in the public key file does not verify', async () => {
    const r = await open('other-signed.pkt', policy({ publicKeys: read('client-public.asc') }));
    assert.equal(r.ok ? 'opened' : r.reason, 'bad-signature');
    assert.match(r.ok ? '' : r.detail, new RegExp(FPR.other.slice(-16), 'i'));
  });

  test('an unsigned packet is refused when signatures are required, and opens when they are not', async () => {
    const r = await open('unsigned.pkt', policy());
    assert.equal(r.ok ? 'opened' : r.reason, 'bad-signature');
    const off = await open('unsigned.pkt', policy({ requireSig: false, publicKeys: null }));
    assert.ok(off.ok, JSON.stringify(off));
    assert.equal(off.signer, null);
  });

  test('a packet for another server key, or with one byte changed, does not decrypt', async () => {
    const other = await open('nopw-signed.pkt', policy());
    assert.equal(other.ok ? 'opened' : other.reason, 'undecryptable');
    const w = wire('signed.pkt');
    const i = 300;
    const flipped = w.slice(0, i) + (w[i] === 'A' ? 'B' : 'A') + w.slice(i + 1);
    const p = policy();
    const r = await openGpgPacket(flipped, p, await keyring(p), Date.now(), 120_000);
    assert.equal(r.ok ? 'opened' : r.reason, 'undecryptable');
    const junk = await openGpgPacket('x'.repeat(500), p, await keyring(p), Date.now(), 120_000);
    assert.equal(junk.ok ? 'opened' : junk.reason, 'undecryptable');
  });

  test('a key without passphrase opens with GPG_ALLOW_NO_PW (an empty passphrase)', async () => {
    const r = await open('nopw-signed.pkt', policy({ secretKeys: read('nopw-secret.asc'), passphrase: '' }));
    assert.ok(r.ok, JSON.stringify(r));
  });
});

describe('opening a GPG stanza keys', () => {
  const problems = async (p: GpgPolicy) => {
    const k = await openGpgKeyring(p);
    return k.ok ? [] : k.problems;
  };

  test('GPG_DECRYPT_ID selects a key by ID, fingerprint or user ID', async () => {
    for (const id of [
      FPR.server.slice(-8),
      `0x${FPR.server.slice(-16)}`,
      FPR.server,
      'server@sesame.test',
      '<server@sesame.test>',
    ])
      assert.deepEqual(await problems(policy({ decryptId: id })), [], id);
  });

  test('a GPG_DECRYPT_ID that matches no secret key names the key the file holds', async () => {
    const [p] = await problems(policy({ decryptId: 'client@sesame.test' }));
    assert.equal(p.field, 'GPG_DECRYPT_ID');
    assert.match(
      p.message,
      new RegExp(`no secret key in server-secret.asc matches "client@sesame.test".*${FPR.server}`),
    );
  });

  test('a wrong or missing passphrase is a GPG_DECRYPT_PW problem that does not echo it', async () => {
    const [p] = await problems(policy({ passphrase: 'not-it' }));
    assert.equal(p.field, 'GPG_DECRYPT_PW');
    assert.doesNotMatch(p.message, /not-it/);
    const [none] = await problems(policy({ passphrase: '' }));
    assert.match(none.message, /has a passphrase; set GPG_DECRYPT_PW/);
  });

  test('a signer ID or fingerprint that no public key has is named', async () => {
    const got = await problems(policy({ remoteIds: ['0BADF00D'], fingerprints: [FPR.server] }));
    assert.deepEqual(
      got.map((p) => p.field),
      ['GPG_REMOTE_ID', 'GPG_FINGERPRINT_ID'],
    );
    assert.match(got[0].message, /no key in public.asc has the ID 0BADF00D/);
  });

  test('text that is no armored key is refused with its file', async () => {
    const [p] = await problems(policy({ secretKeys: 'KEY_BASE64 abc\n' }));
    assert.match(p.message, /^server-secret.asc: not an armored secret key/);
    const [q] = await problems(policy({ publicKeys: 'nothing' }));
    assert.match(q.message, /^public.asc: not armored public keys/);
  });
});
