import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { parseFwknopAccess } from '../../../src/config/fwknop-access.js';
import type { SpaDoor } from '../../../src/core/door.js';
import { makeSpaPacket, type SpaKey } from '../../../src/core/spa/packet.js';
import { MemoryReplayCache } from '../../../src/sources/replay/replay-cache.js';
import { SpaReceiver } from '../../../src/sources/spa/receiver.js';

/**
 * Flaw (issue 21): forged SPA packets cost one HMAC per stanza, so with 20 `SOURCE ANY`
 * stanzas a flood of 20,000 forged packets a second saturated a core and legitimate packets
 * were lost. Now stanzas sharing a key are checked once, a packet of the wrong shape costs
 * no HMAC, and each source has a budget of HMAC checks: past it, its packets are refused
 * unchecked while other sources' packets still open.
 */

const key = () => ({ key: randomBytes(32).toString('base64'), hmac: randomBytes(64).toString('base64') });
const stanza = (k: { key: string; hmac: string }) =>
  `SOURCE ANY\nKEY_BASE64 ${k.key}\nHMAC_KEY_BASE64 ${k.hmac}\nOPEN_PORTS tcp/22\n`;
const spaKey = (k: { key: string; hmac: string }): SpaKey => ({
  key: Buffer.from(k.key, 'base64'),
  hmacKey: Buffer.from(k.hmac, 'base64'),
  hmacType: 'sha256',
});

function receiver(doors: SpaDoor[], budget: number) {
  const granted: string[] = [];
  const r = new SpaReceiver({
    doors,
    replay: new MemoryReplayCache(),
    grant: async (_d, address) => void granted.push(address),
    refused: () => {},
    log: () => {},
    now: () => 1_800_000_000_000,
    hmacBudgetPerS: budget,
  });
  return { r, granted };
}

const packet = (k: { key: string; hmac: string }, allowIp: string) =>
  makeSpaPacket({ username: 'u', timestamp: 1_800_000_000, allowIp, access: [{ proto: 'tcp', port: 22 }] }, spaKey(k));
/** A real packet's shape, its HMAC replaced: fails only the HMAC. */
const forge = (p: string) => p.slice(0, -43) + randomBytes(32).toString('base64').slice(0, 43);

describe('forged SPA packets cost one HMAC per stanza', () => {
  test('20 stanzas: a flooding source runs out of HMAC checks, another source still opens', async () => {
    const keys = Array.from({ length: 20 }, key);
    const doors = parseFwknopAccess(keys.map(stanza).join('\n'));
    // 20 distinct keys: each forged packet costs 20 checks, so a budget of 100 is 5 packets
    const { r, granted } = receiver(doors, 100);
    const legit = packet(keys[19], '198.18.0.7');
    const reasons: string[] = [];
    for (let i = 0; i < 8; i++) {
      const o = await r.receive(forge(legit), '198.18.0.66', undefined, 'udp');
      reasons.push(o.ok ? 'ok' : o.reason);
    }
    assert.deepEqual(reasons, [...Array(5).fill('bad-hmac'), ...Array(3).fill('over-budget')]);
    // positive control: the user, at another address, is admitted by the last stanza
    const o = await r.receive(legit, '198.18.0.7', undefined, 'udp');
    assert.equal(o.ok, true, JSON.stringify(o));
    assert.deepEqual(granted, ['198.18.0.7']);
  });

  test('stanzas sharing one key cost one check; a packet of the wrong shape costs none', async () => {
    const k = key();
    const doors = parseFwknopAccess(Array.from({ length: 20 }, () => stanza(k)).join('\n'));
    const { r, granted } = receiver(doors, 5);
    const legit = packet(k, '198.18.0.8');
    // wrong shape (not whole cipher blocks): refused for free, however many arrive
    for (let i = 0; i < 50; i++) {
      const o = await r.receive(`${forge(legit)}AAAA`, '198.18.0.66', undefined, 'udp');
      assert.deepEqual(o, { ok: false, reason: 'bad-hmac' });
    }
    const reasons: string[] = [];
    for (let i = 0; i < 7; i++) {
      const o = await r.receive(forge(legit), '198.18.0.66', undefined, 'udp');
      reasons.push(o.ok ? 'ok' : o.reason);
    }
    // one check per packet, not 20: five forged packets fit a budget of five
    assert.deepEqual(reasons, [...Array(5).fill('bad-hmac'), ...Array(2).fill('over-budget')]);
    const o = await r.receive(legit, '198.18.0.8', undefined, 'udp');
    assert.equal(o.ok, true, JSON.stringify(o));
    assert.deepEqual(granted, ['198.18.0.8']);
  });
});
