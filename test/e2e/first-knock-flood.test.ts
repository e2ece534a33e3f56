import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { routeToClient } from '../../src/lab/addresses.js';
import { type DoorLab, doorLab } from './door-lab.js';
import { e2eSkip, eventually, sleep } from './support.js';

const SPOOF_BIN = fileURLToPath(new URL('../../../bench/spoof-syn.py', import.meta.url));

/**
 * A small `set_size` so a small flood is "more sources than the set holds": 4,096 forged
 * sources against a bound of 1,024. `within` is long enough that nothing the flood put in the
 * first stage expires while the test runs, so the first stage stays at its bound throughout.
 */
const SET_SIZE = 1024;
const YAML = `set_size: ${SET_SIZE}
doors:
  web:
    knock: [6000, 7000, 8000, 9000]
    within: 120s
    open: [80]
    for: 60s
`;
const SPOOF_FIRST = '198.19.0.0';
const SPOOF_ROUTE = '198.19.0.0/20';
const SOURCES = 4096;
/** First knocks a second: fills the first stage in about 5 s; the 1 s flood lane holds ~200-400. */
const RATE = 200;
const FLOOD_SECONDS = 25;

/** Element count of one of the door's sets, as the kernel lists it. */
async function elements(l: DoorLab, set: string): Promise<number> {
  let out = '';
  for (let i = 0; i < 3; i++) {
    out = await l.nft(['-j', 'list', 'set', 'inet', 'sesame', set]);
    try {
      return (JSON.parse(out).nftables?.[1]?.set?.elem ?? []).length;
    } catch {
      // a listing can fail while the flood changes the set; ask again
    }
  }
  throw new Error(`nft list set ${set} gave no JSON: ${out.slice(0, 300)}`);
}

describe(
  'spoofed flood of first knocks from more sources than set_size',
  { skip: e2eSkip({ python3: 'python3' }) },
  () => {
    test('a knock client gets in while the first stage is full; a first knock slower than the flood lane does not', async () => {
      const l = await doorLab(YAML, { clients: 3, services: [80] });
      try {
        const [alice, bob, flooder] = l.clients;
        const count = (set: string) => elements(l, set);
        await routeToClient(l.lab, SPOOF_ROUTE, flooder);
        // bounded: RATE * FLOOD_SECONDS packets, and the sender stops after FLOOD_SECONDS anyway
        const flood = l.lab.run(
          flooder,
          'python3',
          [
            SPOOF_BIN,
            ...['--dst', l.server.v4, '--ports', '6000', '--src', SPOOF_FIRST, '--sources', String(SOURCES)],
            ...[
              '--count',
              String(RATE * FLOOD_SECONDS),
              '--rate',
              String(RATE),
              '--max-seconds',
              String(FLOOD_SECONDS),
            ],
          ],
          { timeoutMs: (FLOOD_SECONDS + 30) * 1000 },
        );
        try {
          // positive control: the flood really fills the first stage and the start set to their bound
          const full = await eventually(async () => (await count('web_k1_4')) === SET_SIZE, 30_000, 250);
          assert.ok(full, `web_k1_4 reached its bound of ${SET_SIZE} (has ${await count('web_k1_4')})`);
          assert.equal(await count('web_kstart_4'), SET_SIZE, 'the start set is full too');
          // the sender sends in batches of 64 (every 0.3 s at this rate): the lane fills between them
          const lane = await eventually(async () => (await count('web_kq_4')) > 0, 10_000, 100);
          assert.ok(lane, 'first knocks beyond the bound go to the flood lane');

          // what every knock met before the flood lane: its first knock finds no room in the first
          // stage. Bob waits 3 s after his first knock, longer than the lane keeps it: shut out.
          await l.knock(bob, ['6000']);
          await sleep(3000);
          await l.knock(bob, ['7000', '8000', '9000']);
          assert.equal(await l.connect(bob, 80), 'timeout', 'a slow first step is lost while the first stage is full');

          // a knock client sends its knocks back to back: Alice gets in during the flood
          await l.knock(alice, ['6000', '7000', '8000', '9000']);
          assert.equal(await l.connect(alice, 80), 'open', 'the knock client got in during the flood');
          assert.equal(await count('web_k1_4'), SET_SIZE, 'the first stage was still full when Alice knocked');
          assert.equal(await l.connect(bob, 80), 'timeout', 'the grant is Alice’s only');
        } finally {
          await flood; // bounded in count and time: it ends by itself
        }
        const r = await flood;
        assert.equal(r.code, 0, r.stderr);
        const sent = JSON.parse(r.stdout) as { sent: number };
        const sources = Math.min(sent.sent, SOURCES);
        assert.ok(sources > SET_SIZE, `the flood sent ${sent.sent} first knocks from ${sources} forged sources`);
      } finally {
        l.destroy();
      }
    });
  },
);
