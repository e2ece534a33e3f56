import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { totp, TOTP_STEP_MS } from '../../src/core/totp.js';
import { e2eSkip, sleep } from './support.js';
import { type WebLab, webLab, writeSecret } from './web-lab.js';

const ATTACK_S = 60;
const ADDRESSES = 60_000;

/**
 * The attack from issue 14 item 1, run by a client process of its own in the proxy's
 * namespace: random TOTP codes for `ssh`, each request claiming the next of 60,000 addresses in
 * X-Forwarded-For (198.18.128.0 upwards), 32 requests in flight, for 60 s, then it stops.
 */
const ATTACK = `
const http = require('http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
const until = Date.now() + ${ATTACK_S * 1000};
const counts = {};
let n = 0;
const address = (i) => '198.' + (18 + (i >> 16)) + '.' + (128 + ((i >> 8) & 127)) + '.' + (i & 255);
function one() {
  if (Date.now() > until) return Promise.resolve();
  const i = n++ % ${ADDRESSES};
  const code = String(Math.floor(Math.random() * 1e6)).padStart(6, '0');
  return new Promise((resolve) => {
    const req = http.request({ host: '198.18.0.1', port: 8443, path: '/knock/ssh', method: 'POST', agent,
      headers: { 'x-forwarded-for': address(i), 'content-type': 'text/plain' } }, (res) => {
      counts[res.statusCode] = (counts[res.statusCode] || 0) + 1;
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', () => { counts.error = (counts.error || 0) + 1; resolve(); });
    req.end(code);
  }).then(one);
}
setTimeout(() => process.exit(2), ${(ATTACK_S + 20) * 1000}).unref();
Promise.all(Array.from({ length: 32 }, one)).then(() => {
  console.log(JSON.stringify({ requests: n, addresses: Math.min(n, ${ADDRESSES}), counts }));
  process.exit(0);
});`;

describe('web knock: TOTP brute force through a trusted proxy rotating X-Forwarded-For', { skip: e2eSkip() }, () => {
  let w: WebLab;
  let key: Buffer;
  before(async () => {
    w = await webLab(
      (dir) => {
        const s = writeSecret(dir, 'ssh');
        key = s.key;
        return `
http:
  listen: 0.0.0.0:8443
  trusted_proxies: [198.18.0.11]
doors:
  ssh:
    http: { token: totp, secret: ${s.file} }
    open: [2222]
    for: 30s
`;
      },
      { clients: 3, echo: [2222], ready: /http-listening/ },
    );
  });
  after(() => w?.destroy());

  test(
    '60 s over 60,000 addresses does not open the door; a legitimate code from a new address opens it right after',
    { timeout: 200_000 },
    async () => {
      const [, proxy, alice] = w.lab.clients;
      const r = await w.lab.run(proxy, process.execPath, ['-e', ATTACK], { timeoutMs: (ATTACK_S + 30) * 1000 });
      assert.equal(r.code, 0, `attack client: ${r.stderr}`);
      const result = JSON.parse(r.stdout) as { requests: number; addresses: number; counts: Record<string, number> };
      assert.ok(result.requests >= 1000, `the attack ran: ${r.stdout}`);
      assert.equal(result.counts['200'] ?? 0, 0, `no guess opened the door: ${r.stdout}`);
      assert.ok((result.counts['429'] ?? 0) > result.requests / 2, `most guesses were throttled: ${r.stdout}`);
      assert.match(w.daemon.output(), /http-door-throttled/);
      assert.doesNotMatch(w.daemon.output(), /"event":"open"/, 'no grant for any forwarded address');

      // right after: the door takes codes again from the next 30 s step on (the attack used up this one)
      await sleep(TOTP_STEP_MS - (Date.now() % TOTP_STEP_MS) + 500);
      assert.equal(await w.connect(alice, 2222), 'timeout', 'closed before the knock');
      const knock = await w.curl(alice, ['--data-binary', totp(key, Date.now()), 'http://198.18.0.1:8443/knock/ssh']);
      assert.equal(knock.status, 200, knock.body);
      assert.equal(await w.connect(alice, 2222), 'open');
    },
  );
});
