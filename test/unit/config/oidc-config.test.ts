import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../src/config/config-error.js';
import { parseConfig } from '../../../src/config/load-config.js';

const dir = mkdtempSync(join(tmpdir(), 'sesame-oidc-config-'));
const secret = join(dir, 'client-secret');
writeFileSync(secret, 'a-client-secret\n', { mode: 0o600 });
const open = join(dir, 'open-secret');
writeFileSync(open, 'a-client-secret\n', { mode: 0o644 });
const cert = join(dir, 'cert.pem');
writeFileSync(cert, 'x');

const endpoint = `http:\n  listen: 8443\n  tls: { cert: ${cert}, key: ${secret} }\n`;
const door = (oidc: string, extra = '') => `doors:\n  ssh:\n    http:\n      oidc: ${oidc}\n${extra}    open: [22]\n`;
const good = `{ issuer: https://id.example.org, client_id: sesame, client_secret_file: ${secret}, redirect_uri: https://knock.example.org/oidc/callback, allow: { groups: [admins] } }`;

const problems = (yaml: string) => {
  try {
    parseConfig(yaml);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return '';
};

describe('OIDC door config', () => {
  test('loads with its defaults: no token, scopes openid email profile, groups claim `groups`', () => {
    const d = parseConfig(endpoint + door(good)).doors[0];
    assert.equal(d.kind, 'http');
    if (d.kind !== 'http') return;
    assert.deepEqual(d.http.tokens, []);
    assert.deepEqual(d.http.oidc?.scopes, ['openid', 'email', 'profile']);
    assert.equal(d.http.oidc?.groupsClaim, 'groups');
    assert.deepEqual(d.http.oidc?.allow, { groups: ['admins'], emails: [] });
  });

  test('needs TLS on the endpoint, at the line of `oidc`', () => {
    assert.match(
      problems(`http: { listen: 8443 }\n${door(good)}`),
      /sesame\.yaml:5:\d+ doors\.ssh\.http\.oidc: OIDC sign-in needs TLS/,
    );
  });

  test('refuses an allow list naming no one, plain http, a wrong callback path, a token beside it', () => {
    assert.match(problems(endpoint + door(good.replace('{ groups: [admins] }', '{}'))), /name who may sign in/);
    assert.match(
      problems(endpoint + door(good.replace('https://id', 'http://id'))),
      /issuer: expected the provider's https issuer URL/,
    );
    assert.match(
      problems(endpoint + door(good.replace('/oidc/callback', '/callback'))),
      /the callback path is \/oidc\/callback/,
    );
    assert.match(problems(endpoint + door(good, '      token: totp\n')), /an oidc door takes no token/);
  });

  test('the client secret file: missing, or readable by others, is refused at its field', () => {
    assert.match(problems(endpoint + door(good.replace(secret, '/nope'))), /client_secret_file: .*file not found/);
    assert.match(problems(endpoint + door(good.replace(secret, open))), /doors\.ssh\.http\.oidc\.client_secret_file: /);
  });
});
