import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { anyInterface } from '../../../src/config/host-interfaces.js';
import { parseKnockdConf } from '../../../src/config/knockd-conf.js';
import { knockdToYaml } from '../../../src/config/knockd-import.js';
import { knockdPlan } from '../../../src/config/knockd-plan.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { compileNft } from '../../../src/firewall/nft/compile.js';

// dist/test/unit/config -> the repository's test/fixtures (fixtures are not compiled)
const DIR = join(import.meta.dirname, '..', '..', '..', '..', 'test', 'fixtures', 'knockd');
const files = readdirSync(DIR).filter((f) => f.endsWith('.conf'));

/** Warnings each real file must produce (knockd reads it, but by accident). */
const EXPECTED_WARNINGS: Record<string, RegExp[]> = {
  'pi-server.conf': [/"@@@@@1@@@@@": not a number; knockd reads it as port 0/],
  'docker-knockd.conf': [/"KNOCKD_PORTS": not a number; knockd reads it as port 0/],
};

describe('real knockd.conf files from public repositories (test/fixtures/knockd, sources in SOURCES.md)', () => {
  test('the corpus has the files', () => assert.ok(files.length >= 10, `${files.length} files`));

  for (const file of files) {
    test(`${file} loads as serve --knockd-conf loads it, and imports to a valid sesame.yaml`, () => {
      const path = join(DIR, file);
      const conf = parseKnockdConf(readFileSync(path, 'utf8'), path);
      assert.ok(conf.doors.length > 0);
      const { plan, notes } = knockdPlan(conf);
      assert.ok(compileNft(plan).includes('table inet sesame'), 'compiles to a ruleset');
      const expected = EXPECTED_WARNINGS[file] ?? [];
      assert.equal(conf.warnings.length, expected.length, conf.warnings.map((w) => w.message).join('\n'));
      expected.forEach((re, i) => assert.match(conf.warnings[i].message, re));
      for (const w of conf.warnings)
        assert.ok(
          notes.some((n) => n.includes(w.message)),
          'each warning is logged',
        );

      const yaml = knockdToYaml(conf);
      const doors = (parse(yaml) as { doors?: Record<string, unknown> | null }).doors;
      if (conf.doors.some((d) => d.sequence?.some((p) => p.port === 0))) {
        assert.match(yaml, /Fix the sequence and uncomment the door/);
        return;
      }
      assert.ok(doors && Object.keys(doors).length === conf.doors.length, 'every door is imported');
      // these files come from other hosts: their interfaces (wlan0, ens3) are not checked here
      parseConfig(yaml, 'imported.yaml', { checkInterface: anyInterface });
    });
  }

  // three files knockd accepts whose import `check` refused: a trailing comma (port 0), port 0
  // itself, and a seq_timeout past a day
  for (const [name, sequence] of [
    ['trailing', 'sequence = 7201,7202,\nseq_timeout = 5'],
    ['zero', 'sequence = 0,7402'],
    ['long', 'sequence = 7301,7302\nseq_timeout = 100000'],
  ])
    test(`import output passes check: ${name}`, () => {
      const conf = parseKnockdConf(`[${name}]\n${sequence}\ncommand = echo %IP%\n\n[ok]\nsequence = 7000,8000\n`);
      const plan = parseConfig(knockdToYaml(conf), 'imported.yaml');
      assert.ok(plan.doors.some((d) => d.name === 'ok'));
    });

  test('a door without commands imports as a valid log-only door', () => {
    const conf = parseKnockdConf('[logme]\nsequence = 7000,8000\n');
    const yaml = knockdToYaml(conf);
    assert.match(yaml, /log_only: true/);
    const plan = parseConfig(yaml, 'imported.yaml');
    assert.equal(plan.doors[0].name, 'logme');
    assert.deepEqual(plan.doors[0].open, []);
    assert.equal(plan.doors[0].run, undefined);
  });
});
