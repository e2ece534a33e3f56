import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeHmacToken } from '../../../src/core/knock-token.js';
import { totp } from '../../../src/core/totp.js';
import { clientAddress, forwardedHops, trustedProxies } from '../../../src/sources/http/client-address.js';
import { parseKnock, replyFormat } from '../../../src/sources/http/knock-request.js';
import { renderPage } from '../../../src/sources/http/page.js';
import { clientKey, RateLimiter } from '../../../src/sources/http/rate-limit.js';
import { TokenVerifier } from '../../../src/sources/http/verifier.js';

const KEY = Buffer.from('0123456789abcdef0123');
const NOW = 1_700_000_000_000;

describe('client address', () => {
  const trusted = trustedProxies(['198.18.0.1', '10.0.0.0/8', 'fd00:5e5a::/64']);

  test('X-Forwarded-For from an untrusted peer is ignored', () => {
    assert.equal(clientAddress('198.18.0.10', { 'x-forwarded-for': '198.18.0.99' }, trusted), '198.18.0.10');
    assert.equal(clientAddress('::ffff:198.18.0.10', {}, trusted), '198.18.0.10');
  });

  test('from a trusted proxy, the rightmost untrusted hop is the client', () => {
    assert.equal(clientAddress('198.18.0.1', { 'x-forwarded-for': '203.0.113.9' }, trusted), '203.0.113.9');
    // a client-supplied first hop can't hide the address the proxy saw
    assert.equal(
      clientAddress('198.18.0.1', { 'x-forwarded-for': '1.2.3.4, 203.0.113.9, 10.1.1.1' }, trusted),
      '203.0.113.9',
    );
    assert.equal(clientAddress('198.18.0.1', {}, trusted), '198.18.0.1');
  });

  test('Forwarded (RFC 7239) wins over X-Forwarded-For', () => {
    const h = {
      forwarded: 'for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711"',
      'x-forwarded-for': '203.0.113.9',
    };
    assert.equal(clientAddress('fd00:5e5a::1', h, trusted), '2001:db8:cafe::17');
    assert.deepEqual(forwardedHops('for=unknown, for=198.18.0.2:80'), [null, '198.18.0.2']);
  });

  test('an unknown hop from a trusted proxy gives no address (never the proxy own)', () => {
    assert.equal(clientAddress('198.18.0.1', { forwarded: 'for=_hidden' }, trusted), null);
  });
});

describe('rate limit', () => {
  test('allows `attempts` then refuses until the bucket refills', () => {
    const r = new RateLimiter(3, 30_000);
    assert.deepEqual(
      [1, 2, 3, 4].map(() => r.take('198.18.0.2', NOW)),
      [true, true, true, false],
    );
    assert.equal(r.take('198.18.0.3', NOW), true);
    assert.equal(r.retryAfterS('198.18.0.2', NOW), 10);
    assert.equal(r.take('198.18.0.2', NOW + 10_000), true);
  });

  test('counts IPv6 clients per /64', () => {
    assert.equal(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(clientKey('fd00:5e5a::a'), 'fd00:5e5a:0:0::/64');
    const r = new RateLimiter(1, 60_000);
    assert.equal(r.take('2001:db8:1:2::1', NOW), true);
    assert.equal(r.take('2001:db8:1:2::2', NOW), false);
  });
});

describe('knock request', () => {
  test('door from the path or the form, token from code, token or the body', () => {
    assert.deepEqual(parseKnock('/knock/ssh', 'application/x-www-form-urlencoded', 'code=123456'), {
      door: 'ssh',
      token: '123456',
    });
    assert.deepEqual(parseKnock('/knock', 'application/x-www-form-urlencoded', 'door=ssh&code=+123456+'), {
      door: 'ssh',
      token: '123456',
    });
    assert.deepEqual(parseKnock('/knock/ssh', 'application/json', '{"token":"s1.x"}'), { door: 'ssh', token: 's1.x' });
    assert.deepEqual(parseKnock('/knock/ssh', 'text/plain', '123456\n'), { door: 'ssh', token: '123456' });
    assert.equal(parseKnock('/knock', 'text/plain', '123456'), null);
    // regression: curl --data-binary sends a bare token as application/x-www-form-urlencoded
    assert.deepEqual(parseKnock('/knock/ssh', 'application/x-www-form-urlencoded', '123456'), {
      door: 'ssh',
      token: '123456',
    });
    assert.deepEqual(parseKnock('/knock/web', 'application/x-www-form-urlencoded', 's1.web.1.n.sig'), {
      door: 'web',
      token: 's1.web.1.n.sig',
    });
    assert.equal(parseKnock('/knock/ssh', 'application/x-www-form-urlencoded', 'other=1'), null);
    assert.equal(parseKnock('/knock', 'application/x-www-form-urlencoded', '123456'), null, 'no door');
    assert.equal(parseKnock('/knock/ssh', 'application/json', '{'), null);
  });

  test('answers browsers with the page, scripts with JSON or a line', () => {
    assert.equal(replyFormat('text/html,application/xhtml+xml'), 'html');
    assert.equal(replyFormat('application/json'), 'json');
    assert.equal(replyFormat('*/*'), 'text');
  });
});

describe('TokenVerifier', () => {
  const doors = [
    { name: 'ssh', tokens: ['totp', 'hmac'] as const, key: KEY },
    { name: 'web', tokens: ['hmac'] as const, key: KEY },
  ];

  test('a TOTP code opens once', async () => {
    const v = new TokenVerifier(doors);
    const code = totp(KEY, NOW);
    assert.deepEqual(await v.verify('ssh', code, NOW), { ok: true });
    assert.deepEqual(await v.verify('ssh', code, NOW + 1000), { ok: false, why: 'replayed' });
  });

  test('an HMAC token opens once', async () => {
    const v = new TokenVerifier(doors);
    const t = makeHmacToken(KEY, 'web', NOW);
    assert.deepEqual(await v.verify('web', t, NOW), { ok: true });
    assert.deepEqual(await v.verify('web', t, NOW), { ok: false, why: 'replayed' });
  });

  test('wrong door, wrong code and a kind the door does not take are refused', async () => {
    const v = new TokenVerifier(doors);
    assert.deepEqual(await v.verify('nope', totp(KEY, NOW), NOW), { ok: false, why: 'no-such-door' });
    assert.deepEqual((await v.verify('ssh', '000000', NOW)).ok, totp(KEY, NOW) === '000000');
    assert.deepEqual(await v.verify('web', totp(KEY, NOW), NOW), { ok: false, why: 'kind-not-allowed' });
  });
});

describe('knock page', () => {
  test('has labelled fields, a plain form POST and escapes names', () => {
    const html = renderPage({
      doors: ['ssh', '<x>'],
      numeric: true,
      result: { ok: true, text: 'ssh open for 198.18.0.2 until 12:05:30' },
    });
    assert.match(html, /<form method="post" action="\/knock">/);
    assert.match(html, /<label for="door">Door<\/label>/);
    assert.match(html, /<label for="code">Code<\/label>/);
    assert.match(html, /role="status">ssh open for 198.18.0.2 until 12:05:30</);
    assert.match(html, /&lt;x&gt;/);
    assert.doesNotMatch(html, /<script|https?:\/\//);
  });
});
