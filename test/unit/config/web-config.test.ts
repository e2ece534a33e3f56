import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../src/config/config-error.js';
import { parseConfig } from '../../../src/config/load-config.js';

const dir = mkdtempSync(join(tmpdir(), 'sesame-web-config-'));
const key = join(dir, 'ssh.key');
writeFileSync(key, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n', { mode: 0o600 });
const short = join(dir, 'short.key');
writeFileSync(short, 'JBSWY3DPEHPK3PXP\n');

const problems = (yaml: string) => {
  try {
    parseConfig(yaml);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return '';
};

describe('web door config', () => {
  test('a log door and an http door load with their defaults', () => {
    const plan = parseConfig(
      `http:\n  listen: 8443\ndoors:\n  l:\n    log: { file: /var/log/x.log, match: '^<HOST> GET /ssh' }\n    open: [22]\n  h:\n    http: { secret: ${key} }\n    open: [2222]\n`,
    );
    const [l, h] = plan.doors;
    assert.equal(l.kind, 'log');
    assert.equal(l.kind === 'log' && l.log.maxRetry, 1);
    assert.equal(l.forMs, 120_000);
    assert.deepEqual(h.kind === 'http' && h.http.tokens, ['totp']);
    assert.deepEqual(plan.http?.listen, { host: '::', port: 8443 });
    assert.deepEqual(plan.http?.rateLimit, { attempts: 10, perMs: 60_000 });
  });

  test('a failregex without <HOST> is placed at its line', () => {
    assert.match(
      problems("doors:\n  l:\n    log: { file: /x, match: 'GET /ssh' }\n    open: [22]\n"),
      /sesame\.yaml:3:\d+ doors\.l\.log\.match: a failregex needs <HOST>/,
    );
  });

  test('an http door needs the endpoint, a readable strong secret, and no path unless token: none', () => {
    assert.match(
      problems(`doors:\n  h:\n    http: { secret: ${key} }\n    open: [22]\n`),
      /needs the top-level `http:` endpoint/,
    );
    assert.match(
      problems(`http: { listen: 8443 }\ndoors:\n  h:\n    http: { secret: ${short} }\n    open: [22]\n`),
      /doors\.h\.http\.secret: .*80 bits, at least 128/,
    );
    assert.match(
      problems(`http: { listen: 8443 }\ndoors:\n  h:\n    http: { secret: /nope.key }\n    open: [22]\n`),
      /file not found/,
    );
    assert.match(
      problems(`http: { listen: 8443 }\ndoors:\n  h:\n    http: { token: none, path: /ssh }\n    open: [22]\n`),
      /more than 8 characters/,
    );
    assert.match(
      problems(`http: { listen: 8443 }\ndoors:\n  h:\n    http: { token: none, path: /knock/x }\n    open: [22]\n`),
      /endpoint's own/,
    );
  });

  test('trusted_proxies and listen are validated', () => {
    assert.match(
      problems('http: { listen: 8443, trusted_proxies: [10.0.0.0/33] }\ndoors: {}\n'),
      /trusted_proxies\[0\]: expected an address or CIDR/,
    );
    assert.match(problems('http: { listen: "host:99999" }\ndoors: {}\n'), /http\.listen: expected an address and port/);
  });
});
