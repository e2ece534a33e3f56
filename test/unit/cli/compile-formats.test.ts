import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CliError } from '../../../src/cli/cli-error.js';
import { compile, needsDaemon } from '../../../src/cli/commands/compile.js';
import { ConfigError } from '../../../src/config/config-error.js';
import { loadConfigFile, parseConfig } from '../../../src/config/load-config.js';
import type { Door } from '../../../src/core/door.js';
import { compileIptables } from '../../../src/firewall/iptables/compile.js';
import { IptablesCompileError } from '../../../src/firewall/iptables/syntax.js';
import { compileNft } from '../../../src/firewall/nft/compile.js';
import { tempDir } from '../../e2e/support.js';

/** Writes `yaml` to a temp file, for `compile()` which reads a path like the CLI. */
function configFile(yaml: string): string {
  const file = join(tempDir(), 'sesame.yaml');
  writeFileSync(file, yaml);
  return file;
}

const HITS = 'doors:\n  ssh:\n    hits: { port: 22, count: 2, window: [3s, 5s] }\n    for: 30s\n';

describe('hit-count doors in sesame.yaml', () => {
  test('`hits: 22` means 2 hits, a 1-5 s window, and opens port 22', () => {
    const door = parseConfig('doors:\n  ssh:\n    hits: 22\n').doors[0];
    assert.equal(door.kind, 'hits');
    assert.deepEqual(door.kind === 'hits' && door.hits, { port: 22, count: 2, windowMs: [1000, 5000] });
    assert.deepEqual(door.open, [{ port: 22, proto: 'tcp' }]);
  });

  test('a window that ends before it starts is an error at its line', () => {
    assert.throws(
      () => parseConfig('doors:\n  ssh:\n    hits: { port: 22, window: [5s, 3s] }\n'),
      (e: unknown) =>
        e instanceof ConfigError &&
        /sesame\.yaml:3:.*doors\.ssh\.hits.*window end must be after window start/s.test(e.message),
    );
  });

  test('a UDP port is refused: only TCP SYNs are counted', () => {
    assert.throws(() => parseConfig('doors:\n  ssh:\n    hits: "53/udp"\n'), /hit counting needs TCP SYNs/);
  });
});

describe('hit-count door rules (nft)', () => {
  const ruleset = compileNft(parseConfig(HITS));

  test('bare SYNs to the service port are counted before the protection rules', () => {
    const jump = ruleset.indexOf('tcp dport 22 tcp flags & (fin | syn | rst | ack) == syn jump ssh_hits');
    assert.ok(jump > 0 && jump < ruleset.indexOf('\ttcp dport 22 drop'));
  });

  test('the "too early" set times out at the window start, the count at the window end', () => {
    assert.match(ruleset, /set ssh_hearly_4 \{ type ipv4_addr; flags dynamic,timeout; timeout 3s;/);
    assert.match(ruleset, /set ssh_hstart_4 \{ type ipv4_addr; flags dynamic,timeout; timeout 5s;/);
  });

  test('the SYN after the last hit, if not too early, grants and logs like a sequence door', () => {
    assert.match(
      ruleset,
      /ip saddr @ssh_h2_4 delete @ssh_h2_4 \{ ip saddr \} delete @ssh_hstart_4 \{ ip saddr \} update @ssh_open_4 \{ ip saddr timeout 30s \} log group 7331 prefix "sesame open ssh" return/,
    );
    assert.ok(
      ruleset.indexOf('ip saddr @ssh_h2_4 ip saddr @ssh_hearly_4') < ruleset.indexOf('ip saddr @ssh_h2_4 delete'),
    );
  });
});

describe('sesame compile', () => {
  test("--format nft is the ruleset serve loads, prefixed to replace sesame's table", () => {
    const file = configFile(HITS);
    const text = compile(file, 'nft');
    assert.equal(text, `table inet sesame {}\ndelete table inet sesame\n${compileNft(loadConfigFile(file))}`);
  });

  test('a door with run commands needs the daemon: exit 2, naming the door', () => {
    const file = configFile(
      'doors:\n  web:\n    knock: [7000, 8000]\n    open: [80]\n    run: { start: "echo %IP%" }\n',
    );
    for (const format of ['nft', 'iptables-restore'] as const) {
      assert.throws(
        () => compile(file, format),
        (e: unknown) =>
          e instanceof CliError &&
          e.exitCode === 2 &&
          e.code === 'E_NEEDS_DAEMON' &&
          /door "web" runs commands/.test(e.message),
      );
    }
  });

  test('daemon-side door kinds (http, log, one-time sequences) are refused by kind', () => {
    for (const kind of ['http', 'log', 'one-time']) {
      const door = { kind, name: 'x', open: [], forMs: 1000, reply: 'drop' } as unknown as Door;
      assert.match(
        String(needsDaemon(door, 'nft')),
        new RegExp(`is a ${kind} door: its knocks are checked by the daemon`),
      );
    }
  });

  test('iptables output refuses times that are not whole seconds instead of rounding them', () => {
    const plan = parseConfig('doors:\n  web:\n    knock: [7000, 8000]\n    within: 1500ms\n    open: [80]\n');
    assert.throws(() => compileIptables(plan, 4), IptablesCompileError);
    const file = configFile('doors:\n  web:\n    knock: [7000, 8000]\n    within: 1500ms\n    open: [80]\n');
    assert.throws(
      () => compile(file, 'iptables-restore'),
      (e: unknown) => e instanceof CliError && /within 1\.5s is not a whole number of seconds/.test(e.message),
    );
  });

  test('iptables: grant holders of every door return before any door denies, so two doors can open one port', () => {
    const text = compileIptables(
      parseConfig('doors:\n  a:\n    knock: [7000, 8000]\n    open: [22]\n  b:\n    hits: 22\n'),
      4,
    );
    const lastReturn = text.lastIndexOf('--rcheck --seconds 60 -j RETURN\n-A SESAME');
    assert.ok(lastReturn > 0 && lastReturn < text.indexOf('-A SESAME -p tcp --dport 22 -j DROP'));
  });
});
