import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { HttpEndpoint } from '../../../src/core/door.js';
import { makeHmacToken } from '../../../src/core/knock-token.js';
import { TOTP_STEP_MS, totp } from '../../../src/core/totp.js';
import { type EndpointOptions, KnockEndpoint, type Opened } from '../../../src/sources/http/endpoint.js';
import { TokenVerifier } from '../../../src/sources/http/verifier.js';

/**
 * The knock endpoint as a client sees it, on loopback with fakes behind it: `open` records the
 * grant instead of touching a kernel, the clock is fixed. Every refusal below is paired, in the
 * same test, with the request that does open, so a refusal can't pass because nothing opens.
 */

const KEY = Buffer.from('0123456789abcdef0123');
const NOW = 1_700_000_000_000;
const SECRET_PATH = '/k/4f9c2e1a77';

interface Started {
  readonly url: string;
  readonly opened: { door: string; address: string }[];
  readonly logs: { level: string; event: string; fields: Record<string, unknown> }[];
  /** What the endpoint reported as refused (the metrics count these). */
  readonly refused: { door?: string; reason: string; event?: string; address?: string; fields?: object }[];
}

async function start(
  t: TestContext,
  endpoint: Partial<HttpEndpoint> = {},
  extra: Partial<EndpointOptions> = {},
): Promise<Started> {
  const opened: Started['opened'] = [];
  const logs: Started['logs'] = [];
  const refused: Started['refused'] = [];
  const server = new KnockEndpoint({
    endpoint: {
      listen: { host: '127.0.0.1', port: 0 },
      trustedProxies: [],
      rateLimit: null,
      ...endpoint,
    },
    verifier: new TokenVerifier([
      { name: 'ssh', tokens: ['totp', 'hmac'], key: KEY },
      { name: 'web', tokens: ['hmac'], key: KEY },
    ]),
    pathDoors: [{ name: 'admin', path: SECRET_PATH }],
    numericCodes: false,
    open: async (door, address): Promise<Opened> => {
      opened.push({ door, address });
      return { door, address, until: NOW + 120_000, ports: ['22'] };
    },
    log: (level, event, fields = {}) => logs.push({ level, event, fields }),
    refused: (e) => refused.push(e),
    now: () => NOW,
    refusalFloorMs: 0,
    ...extra,
  });
  const { port } = await server.listen();
  t.after(() => server.close());
  return { url: `http://127.0.0.1:${port}`, opened, logs, refused };
}

/** POSTs a knock; the body is a form unless `type` says otherwise. */
function knock(
  s: Started,
  path: string,
  body: string,
  headers: Record<string, string> = {},
  type = 'application/x-www-form-urlencoded',
): Promise<Response> {
  return fetch(`${s.url}${path}`, { method: 'POST', body, headers: { 'content-type': type, ...headers } });
}

/** A six-digit code no TOTP window around NOW accepts. */
function wrongCode(): string {
  const near = new Set([-1, 0, 1].map((d) => totp(KEY, NOW + d * TOTP_STEP_MS)));
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, '0');
    if (!near.has(code)) return code;
  }
}

describe('knock endpoint: tokens', () => {
  test('a good TOTP code opens the door for the peer address, once', async (t) => {
    const s = await start(t);
    const code = totp(KEY, NOW);
    const ok = await knock(s, '/knock/ssh', `code=${code}`);
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /^ssh open for 127\.0\.0\.1 until \d\d:\d\d:\d\d\n$/);
    assert.deepEqual(s.opened, [{ door: 'ssh', address: '127.0.0.1' }]);

    const again = await knock(s, '/knock/ssh', `code=${code}`);
    assert.equal(again.status, 403, 'the same code a second time');
    assert.match(await again.text(), /already used/);
    assert.equal(s.opened.length, 1);
    assert.ok(
      s.refused.some((e) => e.event === 'http-refused' && e.reason === 'replayed' && e.address === '127.0.0.1'),
    );
  });

  test('an HMAC token opens once; the door form field and JSON work like the path', async (t) => {
    const s = await start(t);
    const token = makeHmacToken(KEY, 'web', NOW);
    const ok = await knock(
      s,
      '/knock',
      JSON.stringify({ door: 'web', token }),
      { accept: 'application/json' },
      'application/json',
    );
    assert.equal(ok.status, 200);
    const body = await ok.json();
    assert.deepEqual(body, {
      door: 'web',
      address: '127.0.0.1',
      until: new Date(NOW + 120_000).toISOString(),
      ports: ['22'],
    });
    const replay = await knock(s, '/knock/web', token, { accept: 'application/json' }, 'text/plain');
    assert.equal(replay.status, 403);
    assert.deepEqual(await replay.json(), { error: 'refused' });
    assert.deepEqual(s.opened, [{ door: 'web', address: '127.0.0.1' }]);
  });

  test('a wrong code, a wrong door and a kind the door does not take get one and the same answer', async (t) => {
    const s = await start(t);
    const answers: string[] = [];
    for (const [path, body] of [
      ['/knock/ssh', `code=${wrongCode()}`],
      ['/knock/nope', `code=${totp(KEY, NOW)}`],
      ['/knock/web', `code=${totp(KEY, NOW)}`],
    ]) {
      const r = await knock(s, path, body);
      assert.equal(r.status, 403, `${path} ${body}`);
      answers.push(await r.text());
    }
    assert.equal(new Set(answers).size, 1, `refusals differ: ${JSON.stringify(answers)}`);
    assert.deepEqual(
      s.refused.map((e) => e.event),
      ['http-refused', 'http-refused', 'http-refused'],
    );
    assert.deepEqual(
      s.refused.map(({ door, reason }) => ({ door, reason })),
      [
        { door: 'ssh', reason: 'bad-token' },
        { door: 'nope', reason: 'no-such-door' },
        { door: 'web', reason: 'kind-not-allowed' },
      ],
    );
    assert.deepEqual(s.opened, []);
    // positive control: the code the wrong door and kind were given opens the right door
    assert.equal((await knock(s, '/knock/ssh', `code=${totp(KEY, NOW)}`)).status, 200);
    assert.deepEqual(s.opened, [{ door: 'ssh', address: '127.0.0.1' }]);
  });

  test('a refusal is answered no sooner than the floor after the request arrived', async (t) => {
    const s = await start(t, {}, { refusalFloorMs: 150 });
    const began = performance.now();
    assert.equal((await knock(s, '/knock/ssh', `code=${wrongCode()}`)).status, 403);
    assert.ok(performance.now() - began >= 140, `refused after ${performance.now() - began} ms`);
    assert.equal((await knock(s, '/knock/ssh', `code=${totp(KEY, NOW)}`)).status, 200);
  });

  test("a network's budget of wrong codes runs out for that network, the right code included (429)", async (t) => {
    const fresh = await start(t);
    assert.equal((await knock(fresh, '/knock/ssh', `code=${totp(KEY, NOW)}`)).status, 200, 'positive control');

    const s = await start(t);
    for (let i = 0; i < 3; i++) assert.equal((await knock(s, '/knock/ssh', `code=${wrongCode()}`)).status, 403);
    const r = await knock(s, '/knock/ssh', `code=${totp(KEY, NOW)}`);
    assert.equal(r.status, 429);
    assert.match(await r.text(), /too many wrong codes for this door; try again in \d+ s/);
    assert.ok(Number(r.headers.get('retry-after')) > 0);
    assert.deepEqual(s.opened, []);
  });

  test('the door fails to open: 500, logged, nothing half-said', async (t) => {
    const s = await start(
      t,
      {},
      {
        open: async () => {
          throw new Error('nft is gone');
        },
      },
    );
    const r = await knock(s, '/knock/ssh', `code=${totp(KEY, NOW)}`);
    assert.equal(r.status, 500);
    assert.equal(await r.text(), 'server error\n');
    assert.ok(s.logs.some((l) => l.event === 'http-failed' && l.fields.reason === 'nft is gone'));
  });
});

describe('knock endpoint: rate limit', () => {
  test('attempts per client address: the third gets 429 with Retry-After, a right code included', async (t) => {
    const s = await start(t, { rateLimit: { attempts: 2, perMs: 60_000 } });
    assert.equal((await knock(s, '/knock/ssh', `code=${wrongCode()}`)).status, 403);
    assert.equal((await knock(s, '/knock/ssh', `code=${totp(KEY, NOW)}`)).status, 200, 'within the limit: opens');
    const r = await knock(s, '/knock/web', `code=${makeHmacToken(KEY, 'web', NOW)}`, { accept: 'application/json' });
    assert.equal(r.status, 429);
    const body = await r.json();
    assert.equal(body.error, 'rate-limited');
    assert.equal(String(body.retryAfter), r.headers.get('retry-after'));
    assert.ok(body.retryAfter > 0);
    assert.deepEqual(s.opened, [{ door: 'ssh', address: '127.0.0.1' }]);
    assert.deepEqual(s.refused.at(-1), {
      event: 'http-rate-limited',
      reason: 'rate-limited',
      address: '127.0.0.1',
      fields: { path: '/knock/web' },
    });
  });

  test('secret paths count against the same limit; the page does not', async (t) => {
    const s = await start(t, { rateLimit: { attempts: 1, perMs: 60_000 } });
    assert.equal((await fetch(`${s.url}${SECRET_PATH}`)).status, 200);
    assert.equal((await fetch(`${s.url}/guess-a-path`)).status, 429);
    assert.equal((await fetch(`${s.url}/`)).status, 200);
  });

  test('no limit configured: many attempts are all answered', async (t) => {
    const s = await start(t);
    for (let i = 0; i < 6; i++) assert.equal((await fetch(`${s.url}/guess-${i}-path`)).status, 404);
    assert.equal((await fetch(`${s.url}${SECRET_PATH}`)).status, 200);
  });
});

describe('knock endpoint: trusted proxies', () => {
  test('from a trusted proxy, X-Forwarded-For names the address that is opened', async (t) => {
    const s = await start(t, { trustedProxies: ['127.0.0.1'] });
    const r = await knock(s, '/knock/ssh', `code=${totp(KEY, NOW)}`, { 'x-forwarded-for': '198.18.0.7' });
    assert.equal(r.status, 200);
    assert.deepEqual(s.opened, [{ door: 'ssh', address: '198.18.0.7' }]);
    assert.equal(
      (await fetch(`${s.url}${SECRET_PATH}`, { headers: { forwarded: 'for="[fd00:5e5a::7]:4711"' } })).status,
      200,
    );
    assert.deepEqual(s.opened[1], { door: 'admin', address: 'fd00:5e5a::7' });
  });

  test('from any other peer the header is ignored: the peer itself is opened', async (t) => {
    const s = await start(t, { trustedProxies: ['198.18.0.1'] });
    const r = await knock(s, '/knock/ssh', `code=${totp(KEY, NOW)}`, { 'x-forwarded-for': '198.18.0.7' });
    assert.equal(r.status, 200);
    assert.deepEqual(s.opened, [{ door: 'ssh', address: '127.0.0.1' }]);
  });

  test('a trusted proxy that forwards no address gets 400, and the proxy is never opened', async (t) => {
    const s = await start(t, { trustedProxies: ['127.0.0.1'] });
    const r = await fetch(`${s.url}${SECRET_PATH}`, { headers: { forwarded: 'for=_hidden' } });
    assert.equal(r.status, 400);
    assert.match(await r.text(), /names no address/);
    assert.deepEqual(s.opened, []);
    assert.deepEqual(
      s.refused.map(({ event, reason }) => ({ event, reason })),
      [{ event: 'http-bad-forwarded', reason: 'bad-forwarded' }],
    );
    assert.equal((await fetch(`${s.url}${SECRET_PATH}`, { headers: { forwarded: 'for=198.18.0.9' } })).status, 200);
    assert.deepEqual(s.opened, [{ door: 'admin', address: '198.18.0.9' }]);
  });

  test('behind a proxy the rate limit is per forwarded client, not per proxy', async (t) => {
    const s = await start(t, { trustedProxies: ['127.0.0.1'], rateLimit: { attempts: 1, perMs: 60_000 } });
    const from = (a: string) => ({ 'x-forwarded-for': a });
    assert.equal((await fetch(`${s.url}/guess-path-1`, { headers: from('198.18.0.7') })).status, 404);
    assert.equal((await fetch(`${s.url}/guess-path-2`, { headers: from('198.18.0.7') })).status, 429);
    assert.equal((await fetch(`${s.url}${SECRET_PATH}`, { headers: from('198.18.0.8') })).status, 200);
    assert.deepEqual(s.opened, [{ door: 'admin', address: '198.18.0.8' }]);
  });
});

describe('knock endpoint: paths and methods', () => {
  test('a secret path opens its door; any other path, a longer one or a token door by GET is 404', async (t) => {
    const s = await start(t);
    for (const path of ['/nope', `${SECRET_PATH}x`, SECRET_PATH.slice(0, -1), '/knock/ssh', '/knock']) {
      const r = await fetch(`${s.url}${path}`);
      assert.equal(r.status, 404, path);
      assert.equal(await r.text(), 'not found\n');
    }
    assert.deepEqual(s.opened, []);
    const r = await fetch(`${s.url}${SECRET_PATH}?utm=1`);
    assert.equal(r.status, 200, 'the query string is not part of the path');
    assert.deepEqual(s.opened, [{ door: 'admin', address: '127.0.0.1' }]);
  });

  test('methods other than GET, HEAD and POST /knock are 405 with Allow, and open nothing', async (t) => {
    const s = await start(t);
    for (const [method, path] of [
      ['PUT', '/knock/ssh'],
      ['DELETE', SECRET_PATH],
      ['POST', SECRET_PATH],
      ['POST', '/'],
      ['OPTIONS', '/knock'],
    ]) {
      const r = await fetch(`${s.url}${path}`, {
        method,
        body: method === 'DELETE' || method === 'OPTIONS' ? undefined : `code=${totp(KEY, NOW)}`,
      });
      assert.equal(r.status, 405, `${method} ${path}`);
      assert.equal(r.headers.get('allow'), 'GET, HEAD, POST');
    }
    assert.deepEqual(s.opened, []);
    assert.equal((await fetch(`${s.url}${SECRET_PATH}`, { method: 'HEAD' })).status, 200, 'HEAD opens like GET');
    assert.equal(s.opened.length, 1);
  });

  test('malformed knocks are refused like a wrong code: no door, no code, bad JSON, extra path', async (t) => {
    const s = await start(t);
    const code = `code=${totp(KEY, NOW)}`;
    for (const [path, body, type] of [
      ['/knock', code, 'application/x-www-form-urlencoded'],
      ['/knock/ssh', '', 'application/x-www-form-urlencoded'],
      ['/knock/ssh', 'other=1', 'application/x-www-form-urlencoded'],
      ['/knock/ssh', '{"code":', 'application/json'],
      ['/knock/ssh/more', code, 'application/x-www-form-urlencoded'],
      ['/knock/%E0%A4%A', code, 'application/x-www-form-urlencoded'],
    ]) {
      const r = await knock(s, path, body, {}, type);
      assert.equal(r.status, 403, `${path} ${body}`);
    }
    assert.deepEqual(s.opened, []);
    assert.equal(s.refused.filter((e) => e.reason === 'malformed').length, 6);
    assert.equal((await knock(s, '/knock/ssh', code)).status, 200, 'positive control: the same code opens');
  });

  test('a body over 4 KiB is 413 and closes the connection', async (t) => {
    const s = await start(t);
    const r = await knock(s, '/knock/ssh', `code=${totp(KEY, NOW)}&pad=${'x'.repeat(5000)}`);
    assert.equal(r.status, 413);
    assert.equal(r.headers.get('connection'), 'close');
    assert.deepEqual(s.opened, []);
    assert.equal((await knock(s, '/knock/ssh', `code=${totp(KEY, NOW)}&pad=${'x'.repeat(3000)}`)).status, 200);
  });

  test('the page, robots.txt and favicon; every answer carries the security headers', async (t) => {
    const s = await start(t);
    const page = await fetch(`${s.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await page.text(), /<form method="post" action="\/knock">/);
    assert.equal(await (await fetch(`${s.url}/robots.txt`)).text(), 'User-agent: *\nDisallow: /\n');
    assert.equal((await fetch(`${s.url}/favicon.ico`)).status, 404);
    for (const r of [page, await fetch(`${s.url}/nope`), await knock(s, '/knock/ssh', 'code=1')]) {
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.equal(r.headers.get('x-frame-options'), 'DENY');
      assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    }
    assert.deepEqual(s.opened, []);
  });

  test('a browser form post gets the page with the result', async (t) => {
    const s = await start(t);
    const refused = await knock(s, '/knock', `door=ssh&code=${wrongCode()}`, { accept: 'text/html' });
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /Not opened: the door or code is wrong/);
    const ok = await knock(s, '/knock', `door=ssh&code=${totp(KEY, NOW)}`, { accept: 'text/html' });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /ssh open for 127\.0\.0\.1 until/);
  });
});
