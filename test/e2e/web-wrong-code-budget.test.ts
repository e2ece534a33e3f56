import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { totp, TOTP_STEP_MS } from '../../src/core/totp.js';
import { connectFrom } from '../../src/lab/processes.js';
import { e2eSkip, sleep } from './support.js';
import { type WebLab, webLab, writeSecret } from './web-lab.js';

/**
 * Flaw 4 of the third attack run: 3 wrong codes from one address used up a door's whole budget,
 * so the legitimate user, elsewhere, got 429 for the rest of the step. The attacker here comes
 * through a trusted proxy (X-Forwarded-For names its address, so it can be in any network);
 * the user knocks from its own address, in another /24 (and /48).
 */
describe('flaw 4: one source spent the wrong-code budget of a TOTP door for everyone', { skip: e2eSkip() }, () => {
  let w: WebLab;
  const keys: Record<string, Buffer> = {};
  before(async () => {
    w = await webLab(
      (dir) => {
        const four = writeSecret(dir, 'ssh4');
        const six = writeSecret(dir, 'ssh6');
        keys.ssh4 = four.key;
        keys.ssh6 = six.key;
        return `
http:
  listen: '[::]:8443'
  trusted_proxies: [198.18.0.10]
  rate_limit: false
doors:
  ssh4:
    http: { token: totp, secret: ${four.file} }
    open: [2222]
    for: 30s
  ssh6:
    http: { token: totp, secret: ${six.file} }
    open: [2222]
    for: 30s
`;
      },
      { clients: 2, echo: [2222], ready: /http-listening/ },
    );
  });
  after(() => w?.destroy());

  const wrong = (key: Buffer) => String((Number(totp(key, Date.now())) + 500_000) % 1e6).padStart(6, '0');

  for (const [door, net, attacker, neighbour] of [
    ['ssh4', '/24', '198.19.7.10', '198.19.7.200'],
    ['ssh6', '/48', 'fd00:5e5b:1:2::10', 'fd00:5e5b:1:ffff::1'],
  ] as const) {
    test(`the attacker's ${net} is throttled, a user at another address still opens the door`, async () => {
      const [proxy, alice] = w.lab.clients;
      const url = `http://198.18.0.1:8443/knock/${door}`;
      const key = keys[door];
      // the whole attack must fall into one 30 s step
      if (TOTP_STEP_MS - (Date.now() % TOTP_STEP_MS) < 10_000)
        await sleep(TOTP_STEP_MS - (Date.now() % TOTP_STEP_MS) + 200);
      const as = (address: string, code: string) =>
        w.curl(proxy, ['-H', `X-Forwarded-For: ${address}`, '--data-binary', code, url]);
      for (let i = 0; i < 3; i++) assert.equal((await as(attacker, wrong(key))).status, 403, 'a wrong code');
      // positive control: the attacker's network has used its budget, the right code included
      const throttled = await as(attacker, totp(key, Date.now()));
      assert.equal(throttled.status, 429, throttled.body);
      assert.equal((await as(neighbour, totp(key, Date.now()))).status, 429, `another address in the ${net}`);

      const to = door === 'ssh4' ? '198.18.0.1' : '[fd00:5e5a::1]';
      const target = door === 'ssh4' ? w.lab.server.v4 : w.lab.server.v6;
      assert.equal((await connectFrom(w.lab, alice, target, 2222, 1000)).result, 'timeout', 'closed before the knock');
      const knock = await w.curl(alice, ['--data-binary', totp(key, Date.now()), `http://${to}:8443/knock/${door}`]);
      assert.equal(knock.status, 200, knock.body);
      assert.equal((await connectFrom(w.lab, alice, target, 2222, 1000)).result, 'open');
    });
  }
});
