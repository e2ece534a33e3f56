import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, parseConfig } from '../../src/config/load-config.js';
import { compileNft } from '../../src/firewall/nft/compile.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const examples = join(root, 'examples');
const golden = join(root, 'test/golden');

/**
 * Golden files: the exact ruleset for each example config. After an intended change,
 * regenerate with `UPDATE_GOLDEN=1 npm run test:unit` and review the diff.
 */
describe('nft ruleset for each example (golden files)', () => {
  for (const file of readdirSync(examples).filter((f) => f.endsWith('.yaml'))) {
    test(file, () => {
      const plan = loadConfigFile(join(examples, file));
      const ruleset = compileNft({ ...plan, source: `examples/${file}` });
      const path = join(golden, `${basename(file, '.yaml')}.nft`);
      if (process.env.UPDATE_GOLDEN) writeFileSync(path, ruleset);
      assert.equal(ruleset, readFileSync(path, 'utf8'));
    });
  }
});

describe('sequence door rules', () => {
  const ruleset = compileNft(
    parseConfig(
      'doors:\n  web:\n    knock: [6000, 7000, 8000]\n    open: [80, "53/udp"]\n    for: 59s\n    flags: syn,!ack\n',
    ),
  );

  test('the last knock adds the grant with the door timeout and logs it', () => {
    assert.match(
      ruleset,
      /tcp dport 8000 tcp flags & \(syn \| ack\) == syn ip saddr @web_k2_4 ip saddr @web_kstart_4 .*update @web_open_4 \{ ip saddr timeout 59s \} log group 7331 prefix "sesame open web" return/,
    );
  });

  test('a retransmit of the current stage is ignored, before the reset rule', () => {
    const dup = ruleset.indexOf('tcp dport 7000 tcp flags & (syn | ack) == syn ip saddr @web_k2_4 return');
    const reset = ruleset.indexOf('tcp dport { 6000, 7000, 8000 } tcp flags & (syn | ack) == syn delete @web_k1_4');
    assert.ok(dup > 0 && reset > dup);
  });

  test('protected ports: grant holders pass, new connections from others are dropped, per protocol', () => {
    assert.match(ruleset, /ip saddr @web_open_4 tcp dport 80 accept/);
    assert.match(ruleset, /ip6 saddr @web_open_6 udp dport 53 accept/);
    assert.match(ruleset, /ct state new tcp dport 80 drop/);
    assert.match(ruleset, /ct state new udp dport 53 drop/);
  });

  test('every dynamic set is bounded', () => {
    const sets = ruleset.match(/^\s*set .*$/gm) ?? [];
    assert.ok(sets.length > 0);
    for (const s of sets) assert.match(s, /size 65536;/);
  });

  test('an interface limits knocks and protection to it', () => {
    const r = compileNft(parseConfig('interface: eth1\ndoors:\n  w:\n    knock: [1, 2]\n    open: [80]\n'));
    assert.match(r, /iifname "eth1" tcp dport \{ 1, 2 \} jump w_knock/);
    assert.match(r, /iifname "eth1" ct state new tcp dport 80 drop/);
  });
});
