import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../../src/config/config-error.js';
import { parseKnockdConf } from '../../../src/config/knockd-conf.js';
import { knockdPlan } from '../../../src/config/knockd-plan.js';
import { loadConfigFile, parseConfig } from '../../../src/config/load-config.js';
import { MAX_DOORS } from '../../../src/config/plan-problems.js';
import type { Plan } from '../../../src/core/door.js';
import { declaredNames, globalNames } from '../../../src/core/name-collisions.js';
import {
  doorNames,
  grantSet,
  grantSets,
  parseGrantSet,
  parseLogPrefix,
  UnsafeNameError,
} from '../../../src/core/kernel-names.js';
import { compileIptables } from '../../../src/firewall/iptables/compile.js';
import { compileNft } from '../../../src/firewall/nft/compile.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const examples = join(root, 'examples');

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

describe('kernel names that would collide are refused at config load', () => {
  // iptables output: door `a`'s completion chain is S-a-kdone, and door `a-kdone`'s base chain
  // is S-a-kdone too; iptables-restore merged them, so one SYN to a-kdone's first port ran
  // door a's completion and opened door a.
  test('regression: doors `a` and `a-kdone` (one iptables chain S-a-kdone) are refused, naming both', () => {
    const yaml =
      'doors:\n  a:\n    knock: [1000]\n    open: [80]\n  a-kdone:\n    knock: [2000, 3000]\n    open: [22]\n';
    const message = configError(() => parseConfig(yaml));
    assert.match(message, /sesame\.yaml:5:3 doors\.a-kdone: door "a-kdone" would share iptables chain S-a-kdone/);
    assert.match(message, /with door "a"'s; rename one of them/);
  });

  test('the same two doors from a knockd.conf are refused at the second section', () => {
    const conf = '[a]\nsequence = 1000\n\n[a-kdone]\nsequence = 2000,3000\n';
    const message = configError(() => knockdPlan(parseKnockdConf(conf, 'knockd.conf')));
    assert.match(
      message,
      /knockd\.conf:4:1 \[a-kdone\]: door "a-kdone" would share iptables chain S-a-kdone with door "a"'s/,
    );
  });

  test('more doors than one nft transaction can take are refused at config load, saying why', () => {
    const doors = (n: number) =>
      `doors:\n${[...Array(n).keys()].map((i) => `  d${i}:\n    knock: [${1000 + (i % 50_000)}]\n    open: [80]\n`).join('')}`;
    assert.equal(parseConfig(doors(MAX_DOORS)).doors.length, MAX_DOORS);
    assert.match(
      configError(() => parseConfig(doors(MAX_DOORS + 1))),
      /doors: 1001 doors; at most 1000 fit in one ruleset/,
    );
  });

  test('the scan guard spreads its resets over rules the kernel accepts (at most 24 deletes a rule)', () => {
    const doors = [...Array(60).keys()].map((i) => `  d${i}:\n    knock: [${1000 + i}, ${2000 + i}]\n    open: [80]\n`);
    const nft = compileNft(parseConfig(`doors:\n${doors.join('')}`));
    assert.match(nft, /limit rate over 20\/second burst 40 packets \} goto sweep_reset_4/);
    const start = nft.indexOf('chain sweep_reset_4 {');
    const chain = nft.slice(start, nft.indexOf('\n\t}', start));
    const rules = chain.split('\n').filter((l) => l.includes('delete'));
    assert.equal(rules.length, 8, '180 resets (first stage, start set, flood lane) in rules of 24');
    for (const r of rules) assert.ok((r.match(/delete @/g) ?? []).length <= 24);
  });

  test('other look-alike names that do not collide are accepted', () => {
    const yaml =
      'doors:\n  a:\n    knock: [1000, 1001]\n    open: [80]\n  a_k1:\n    knock: [2000, 2001]\n    open: [22]\n  a-k:\n    hits: 2222\n';
    assert.equal(parseConfig(yaml).doors.length, 3);
  });
});

/** Every set and chain name a compiled ruleset uses. */
function nftNames(ruleset: string): { sets: Set<string>; chains: Set<string> } {
  return {
    sets: new Set([...ruleset.matchAll(/@([\w-]+)/g), ...ruleset.matchAll(/^\s*set ([\w-]+) \{/gm)].map((m) => m[1])),
    chains: new Set(
      [...ruleset.matchAll(/^\s*chain ([\w-]+) \{/gm), ...ruleset.matchAll(/\b(?:jump|goto) ([\w-]+)/g)].map(
        (m) => m[1],
      ),
    ),
  };
}

function iptablesNames(text: string): { chains: Set<string>; lists: Set<string> } {
  return {
    chains: new Set([...text.matchAll(/^:([^\s]+) -/gm)].map((m) => m[1])),
    lists: new Set([...text.matchAll(/--name (\S+)/g)].map((m) => m[1])),
  };
}

const RICH = `doors:
  web:
    knock: [6000, 7000, 8000]
    close: [3333, 4444]
    open: [80]
  ssh:
    hits: { port: 22, count: 3, window: [1s, 5s] }
  a-very-long-door-name-x:
    knock: [1, 2, 3]
    open: [8080]
`;

describe('one home for every kernel name', () => {
  const plans: Plan[] = [
    parseConfig(RICH),
    ...readdirSync(examples)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => loadConfigFile(join(examples, f))),
  ];

  test('every set and chain the nft compiler emits is one the names module declares', () => {
    for (const plan of plans) {
      const declared = new Set(
        [...globalNames(), ...plan.doors.flatMap((d, i) => declaredNames(d, i))].map((d) => d.name),
      );
      const { sets, chains } = nftNames(compileNft(plan));
      for (const name of [...sets, ...chains])
        assert.ok(declared.has(name), `${name} (${plan.source}) is not declared`);
    }
  });

  test('every chain and recent list of the iptables output is declared, and each chain once', () => {
    for (const plan of plans) {
      if (plan.doors.some((d) => d.kind !== 'sequence' && d.kind !== 'hits')) continue;
      const declared = new Set(
        [...globalNames(), ...plan.doors.flatMap((d, i) => declaredNames(d, i))].map((d) => d.name),
      );
      for (const f of [4, 6] as const) {
        const text = compileIptables(plan, f);
        const { chains, lists } = iptablesNames(text);
        for (const name of [...chains, ...lists]) assert.ok(declared.has(name), `${name} is not declared`);
        const heads = [...text.matchAll(/^:(\S+) -/gm)].map((m) => m[1]);
        assert.equal(heads.length, new Set(heads).size, 'a chain declared twice');
      }
    }
  });

  test('a long door name uses its index for iptables chains and keeps within 28 characters', () => {
    const n = doorNames('a-very-long-door-name-x', 2);
    assert.equal(n.ipt.base, 'S2');
    assert.equal(n.ipt.advance('k', 31), 'S2-kadv31');
    assert.ok(doorNames('eighteen-chars-abc', 0).ipt.advance('c', 31).length <= 28);
  });

  test('grant sets come from the plan, and parse back to door and family', () => {
    assert.deepEqual([...grantSets(parseConfig(RICH))].sort(), [
      'a-very-long-door-name-x_open_4',
      'a-very-long-door-name-x_open_6',
      'ssh_open_4',
      'ssh_open_6',
      'web_open_4',
      'web_open_6',
    ]);
    assert.deepEqual(parseGrantSet(grantSet('a-b', 6)), { door: 'a-b', family: 6 });
    assert.equal(parseGrantSet('web_k1_4'), null);
  });

  test('NFLOG prefixes: one-time doors name the line they used, so a late second event cannot burn the next line', () => {
    assert.equal(doorNames('otp', 0).logPrefix('open', 7), 'sesame open otp #7');
    assert.deepEqual(parseLogPrefix('sesame open otp #7\0'), { event: 'open', door: 'otp', line: 7 });
    assert.deepEqual(parseLogPrefix('sesame close web'), { event: 'close', door: 'web' });
    assert.equal(parseLogPrefix('something else'), null);
  });

  test('a door name that is not safe kernel text is refused, never spelled into a ruleset', () => {
    for (const bad of ['a b', 'a"', 'a\nb', '1a', 'a;b', 'x'.repeat(25), '']) {
      assert.throws(() => doorNames(bad, 0), UnsafeNameError, JSON.stringify(bad));
      assert.throws(() => grantSet(bad, 4), UnsafeNameError, JSON.stringify(bad));
    }
  });
});
