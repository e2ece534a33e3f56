import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fwknopRcStanza } from '../../../src/client/fwknoprc.js';
import { fwknopAccessToYaml } from '../../../src/config/fwknop-import.js';
import { parseConfig } from '../../../src/config/load-config.js';
import type { SpaDoor } from '../../../src/core/door.js';
import { packetFromUrl } from '../../../src/sources/spa/listeners.js';

describe('sesame import --fwknop-access', () => {
  test('each stanza becomes an spa door that loads with the same policy; keys go to files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-spa-import-'));
    const key = Buffer.alloc(32, 5).toString('base64');
    const hmac = Buffer.alloc(64, 6).toString('base64');
    const text = `SOURCE 198.18.0.0/24\nKEY_BASE64 ${key}\nHMAC_KEY_BASE64 ${hmac}\nOPEN_PORTS tcp/22, udp/53\nRESTRICT_PORTS tcp/23\nHMAC_DIGEST_TYPE SHA512\nFW_ACCESS_TIMEOUT 45\nMAX_FW_TIMEOUT 90\nREQUIRE_USERNAME alice\nACCESS_EXPIRE_EPOCH 4102444800\n`;
    const { yaml, keys } = fwknopAccessToYaml(text, 'access.conf', dir);
    for (const k of keys) writeFileSync(join(dir, k.name), k.text, { mode: 0o600 });
    assert.match(yaml, /expires: "2100-01-01T00:00:00.000Z" {3}# ACCESS_EXPIRE/);
    const d = parseConfig(yaml, join(dir, 'sesame.yaml')).doors[0] as SpaDoor;
    assert.equal(d.name, 'fwknop1');
    assert.deepEqual(d.open, [
      { proto: 'tcp', port: 22 },
      { proto: 'udp', port: 53 },
    ]);
    assert.equal(d.forMs, 45_000);
    assert.equal(d.spa.maxTimeoutMs, 90_000);
    assert.equal(d.spa.key!.hmacType, 'sha512');
    assert.deepEqual(d.spa.sources, ['198.18.0.0/24']);
    assert.deepEqual(d.spa.restrictPorts, [{ proto: 'tcp', port: 23 }]);
    assert.deepEqual(d.spa.usernames, ['alice']);
    assert.equal(d.spa.requireSource, false, "fwknopd's default is kept");
    assert.equal(Buffer.from(d.spa.key!.key).toString('base64'), key);
  });
});

describe('client and listener parts', () => {
  test('a ~/.fwknoprc stanza is read over [default]', () => {
    const rc = fwknopRcStanza(
      '[default]\nHMAC_DIGEST_TYPE sha512\nSPA_SERVER_PORT 62201\n\n[myserver]\nSPA_SERVER 198.18.0.1\nKEY_BASE64 abc=\nACCESS tcp/22\n',
      'myserver',
    );
    assert.equal(rc.SPA_SERVER, '198.18.0.1');
    assert.equal(rc.HMAC_DIGEST_TYPE, 'sha512');
    assert.equal(rc.ACCESS, 'tcp/22');
    assert.throws(() => fwknopRcStanza('[a]\nX 1\n', 'b'), /no \[b\] stanza \(it has a\)/);
  });

  test('the HTTP listener reads the packet from the URL as fwknop -P http writes it', () => {
    assert.equal(packetFromUrl('/ab-cd_ef'), 'ab+cd/ef');
    assert.equal(packetFromUrl('http://198.18.0.1/ab-cd_ef'), 'ab+cd/ef');
    assert.equal(packetFromUrl('/ab?x=1'), 'ab');
  });
});
