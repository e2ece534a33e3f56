import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { totp } from '../../src/core/totp.js';
import { e2eSkip, eventually } from './support.js';
import { type WebLab, webLab, writeSecret } from './web-lab.js';

const REQUESTS = 2000;

/** One client, 2,000 requests (16 in flight, bounded to 30 s) for a door that doesn't exist, past the rate limit. */
const FLOOD = `
const http = require('http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
let n = 0;
const counts = {};
function one() {
  if (n >= ${REQUESTS}) return Promise.resolve();
  n++;
  return new Promise((resolve) => {
    const req = http.request({ host: '198.18.0.1', port: 8443, path: '/knock/nope', method: 'POST', agent }, (res) => {
      counts[res.statusCode] = (counts[res.statusCode] || 0) + 1;
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', () => { counts.error = (counts.error || 0) + 1; resolve(); });
    req.end('000000');
  }).then(one);
}
setTimeout(() => process.exit(2), 30000).unref();
Promise.all(Array.from({ length: 16 }, one)).then(() => { console.log(JSON.stringify(counts)); process.exit(0); });`;

describe('flaw 5: one client made the daemon log a line per refused request', { skip: e2eSkip() }, () => {
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
doors:
  ssh:
    http: { token: totp, secret: ${s.file} }
    open: [2222]
    for: 30s
`;
      },
      { clients: 2, echo: [2222], ready: /http-listening/ },
    );
  });
  after(() => w?.destroy());

  test('a flood of 2,000 refused requests logs at most 20 lines per reason, then one summary with the count', async () => {
    const [mallory, alice] = w.lab.clients;
    const r = await w.lab.run(mallory, process.execPath, ['-e', FLOOD], { timeoutMs: 40_000 });
    assert.equal(r.code, 0, `flood client: ${r.stderr}`);
    const counts = JSON.parse(r.stdout) as Record<string, number>;
    assert.ok((counts['429'] ?? 0) >= REQUESTS - 20, `the flood was refused: ${r.stdout}`);
    const lines = () => w.daemon.output().split('\n').filter(Boolean);
    const of = (event: string) => lines().filter((l) => l.includes(`"event":"${event}"`));
    assert.ok(of('http-rate-limited').length >= 1, 'the first refusals are logged');
    assert.ok(
      of('http-rate-limited').length <= 20,
      `at most 20 lines for the reason: ${of('http-rate-limited').length}`,
    );
    assert.ok(of('http-refused').length <= 20, `at most 20 wrong-door lines: ${of('http-refused').length}`);
    // the window's end brings one summary line per reason with what was not logged
    const summaries = () => of('http-rate-limited-suppressed').map((l) => JSON.parse(l) as { count: number });
    assert.ok(await eventually(() => summaries().length > 0, 15_000), w.daemon.output().slice(-2000));
    assert.equal(summaries().length, 1, of('http-rate-limited-suppressed').join('\n'));
    // every 429 is either a line or counted in the summary
    assert.equal(of('http-rate-limited').length + summaries()[0].count, counts['429']);
    assert.ok(lines().length < 80, `the daemon wrote ${lines().length} lines for ${REQUESTS} requests`);
    // the real open line still gets through, from another client
    const knock = await w.curl(alice, ['--data-binary', totp(key, Date.now()), 'http://198.18.0.1:8443/knock/ssh']);
    assert.equal(knock.status, 200, knock.body);
    assert.ok(await eventually(() => of('open').length === 1, 5000), w.daemon.output().slice(-2000));
  });
});
