import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { e2eSkip, eventually } from './support.js';
import { startNginx, type WebLab, webLab } from './web-lab.js';

const REQUESTS = 800;

/**
 * One client sends 800 requests (8 in flight, bounded to 40 s) whose User-Agent is a long run of
 * word characters: half just under the door's max_line, for /index.html (each costs the regex
 * its most and matches nothing), half past it (7.9 KB, the attack's size) for /ssh, which would
 * open for the flood's sender if the regex ever saw them.
 */
const FLOOD = `
const http = require('http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
let n = 0;
let done = 0;
function one() {
  if (n >= ${REQUESTS}) return Promise.resolve();
  const long = n++ % 2 === 1;
  const ua = 'a'.repeat(long ? 7900 : 3900);
  return new Promise((resolve) => {
    const req = http.request({ host: '198.18.0.1', port: 80, path: long ? '/ssh' : '/index.html', agent, headers: { 'user-agent': ua } }, (res) => {
      res.resume();
      res.on('end', () => { done++; resolve(); });
    });
    req.on('error', resolve);
    req.end();
  }).then(one);
}
setTimeout(() => process.exit(2), 40000).unref();
Promise.all(Array.from({ length: 8 }, one)).then(() => { console.log(done); process.exit(0); });`;

describe(
  'a log door under a flood of long hostile lines (a 7.9 KB User-Agent stalled the daemon 160 ms a line)',
  { skip: e2eSkip({ nginx: 'nginx', curl: 'curl' }) },
  () => {
    let w: WebLab;
    before(async () => {
      w = await webLab(
        // unanchored on purpose: the worst case the attack used (check warns about it)
        (dir) => `
doors:
  ssh:
    log:
      file: ${join(dir, 'nginx', 'access.log')}
      match: '<HOST> -.*"GET /ssh'
    open: [2222]
    for: 30s
`,
        {
          clients: 2,
          echo: [2222],
          ready: /log-watch/,
          before: async (lab, dir) => {
            await startNginx(lab, lab.server, dir);
          },
        },
      );
    });
    after(() => w?.destroy());

    test('the legit /ssh line still opens during the flood; long lines are refused, counted, and open nothing', async () => {
      const [mallory, alice] = w.lab.clients;
      const lines = () => w.daemon.output().split('\n').filter(Boolean);
      const of = (event: string) => lines().filter((l) => l.includes(`"event":"${event}"`));
      // the flood runs in the background while alice knocks
      const flood = w.lab.run(mallory, process.execPath, ['-e', FLOOD], { timeoutMs: 50_000 });
      assert.ok(
        await eventually(() => of('log-refused').some((l) => l.includes('line-too-long')), 20_000),
        `the flood reached the door: ${w.daemon.output().slice(-1500)}`,
      );
      assert.equal(await w.connect(alice, 2222), 'timeout', 'closed before the knock');
      const knock = await w.curl(alice, ['http://198.18.0.1/ssh']);
      assert.equal(knock.status, 404, 'nginx answers; the log line is the knock');
      assert.ok(
        await eventually(async () => (await w.connect(alice, 2222, 700)) === 'open', 10_000),
        `alice's line opened the door during the flood: ${w.daemon.output().slice(-1500)}`,
      );
      const r = await flood;
      assert.equal(r.code, 0, `flood client: ${r.stderr}`);
      assert.ok(Number(r.stdout) >= REQUESTS - 8, `nginx served the flood: ${r.stdout}`);
      // the 7.9 KB lines opened nothing: mallory is still out, and each was refused (logged or counted)
      assert.equal(await w.connect(mallory, 2222), 'timeout', 'the flood opened nothing for its sender');
      const longLines = () => {
        const logged = of('log-refused').filter((l) => l.includes('line-too-long')).length;
        const counted = of('log-refused-suppressed')
          .map((l) => JSON.parse(l) as { reason: string; count: number })
          .filter((s) => s.reason === 'line-too-long');
        return { logged, windows: counted.length, total: logged + counted.reduce((a, s) => a + s.count, 0) };
      };
      assert.ok(
        await eventually(() => longLines().total === REQUESTS / 2, 20_000),
        `every long line was refused, logged or counted in a summary: ${JSON.stringify(longLines())}`,
      );
      const { logged, windows } = longLines();
      assert.ok(windows >= 1 && logged <= 20 * (windows + 1), `the refusal log bounds the lines: ${logged}`);
    });
  },
);
