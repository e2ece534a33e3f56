import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const SCRIPT = fileURLToPath(new URL('../../../../scripts/check-imports.mjs', import.meta.url));
type File = { path: string; text: string };
const { checkImports } = (await import(SCRIPT)) as { checkImports: (files: File[]) => string[] };

const file = (path: string, ...imports: string[]): File => ({
  path,
  text: imports.map((i, n) => `import { x${n} } from '${i}';`).join('\n'),
});

describe('import layering (npm run lint)', () => {
  test('the source tree follows cli -> daemon -> (sources, firewall) -> core', () => {
    const out = execFileSync(process.execPath, [SCRIPT], { encoding: 'utf8' });
    assert.match(out, /follows the layering/);
  });

  test('a source importing a type from the daemon is refused (interfaces live in sources)', () => {
    const problems = checkImports([
      { path: 'src/sources/http/source.ts', text: "import type { DoorSource } from '../../daemon/door-sources.js';" },
    ]);
    assert.deepEqual(problems, [
      'src/sources/http/source.ts: imports src/daemon/door-sources.ts: sources may import only netfilter, config, core',
    ]);
  });

  test('the knock <-> knock-proxy cycle is refused', () => {
    const problems = checkImports([
      file('src/cli/commands/knock.ts', './knock-proxy.js'),
      file('src/cli/commands/knock-proxy.ts', './knock.js'),
    ]);
    assert.deepEqual(problems, [
      'import cycle: src/cli/commands/knock-proxy.ts -> src/cli/commands/knock.ts -> src/cli/commands/knock-proxy.ts',
    ]);
  });

  test('a type-only import cycle is refused too', () => {
    const problems = checkImports([
      { path: 'src/core/door.ts', text: "import type { SpaPolicy } from './spa/policy.js';" },
      { path: 'src/core/spa/policy.ts', text: "import { type PortSpec } from '../door.js';" },
    ]);
    assert.deepEqual(problems, ['import cycle: src/core/door.ts -> src/core/spa/policy.ts -> src/core/door.ts']);
  });

  test('the CLI runs no firewall program itself; the firewall layer may, and a compile format name is no run', () => {
    const problems = checkImports([
      { path: 'src/cli/commands/status.ts', text: "const r = await execFile('nft', ['-j', 'list', 'ruleset']);" },
      { path: 'src/cli/commands/grant.ts', text: 'spawn("/usr/sbin/iptables-legacy-save", [])' },
      { path: 'src/cli/commands/doctor.ts', text: "await execFile('ss', ['-Hln']);\n// execFile('nft') ran here once" },
      { path: 'src/cli/commands/compile.ts', text: "if (format === 'nft' || format === 'iptables-restore') run();" },
      { path: 'src/firewall/nftables.ts', text: "await execFile('nft', ['-f', '-'])" },
    ]);
    assert.deepEqual(problems, [
      'src/cli/commands/status.ts: runs nft itself: ask the firewall backend (src/firewall/) instead',
      'src/cli/commands/grant.ts: runs iptables-legacy-save itself: ask the firewall backend (src/firewall/) instead',
    ]);
  });

  test('core importing node I/O is refused; node:crypto and isIP are fine', () => {
    const problems = checkImports([
      file('src/core/a.ts', 'node:fs', 'node:crypto'),
      file('src/core/b.ts', 'fs/promises'),
      { path: 'src/core/c.ts', text: "import { isIP } from 'node:net';\nimport { connect, isIPv4 } from 'node:net';" },
    ]);
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(problems[0], /src\/core\/a\.ts: core must not import the I\/O module "node:fs"/);
    assert.match(problems[1], /"fs\/promises"/);
    assert.match(problems[2], /src\/core\/c\.ts: .*"node:net"/);
  });

  test('nothing imports cli, config does not import sources, firewall does not import daemon', () => {
    const problems = checkImports([
      file('src/daemon/d.ts', '../cli/cli-error.js'),
      file('src/config/doors/x.ts', '../../sources/http/source.js'),
      file('src/firewall/f.ts', '../daemon/daemon.js'),
      { path: 'src/client/c.ts', text: "const m = await import('../lab/netns.js');" },
    ]);
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.match(problems[0], /nothing may import cli/);
    assert.match(problems[1], /config may import only core/);
    assert.match(problems[2], /firewall may import only netfilter, core/);
    assert.match(problems[3], /client may import only config, core/);
  });

  test('netfilter sits below sources and firewall: it imports only core, they may import it', () => {
    const problems = checkImports([
      file('src/netfilter/nflog.ts', '../core/door.js', '../sources/door-source.js'),
      file('src/netfilter/set-elements.ts', '../firewall/exec.js'),
      file('src/sources/shared-token.ts', '../netfilter/nflog.js'),
      file('src/firewall/nftables.ts', '../netfilter/element-writer.js'),
    ]);
    assert.deepEqual(problems, [
      'src/netfilter/nflog.ts: imports src/sources/door-source.ts: netfilter may import only core',
      'src/netfilter/set-elements.ts: imports src/firewall/exec.ts: netfilter may import only core',
    ]);
  });

  test('only netfilter imports the netlink package, its index or a submodule', () => {
    const problems = checkImports([
      file('src/netfilter/socket.ts', 'netlink/dist/netlink.js'),
      file('src/sources/nflog.ts', 'netlink/dist/netlink.js'),
      { path: 'src/firewall/writer.ts', text: "import type { NetlinkSocket } from 'netlink';" },
      file('src/daemon/d.ts', 'netlink-extra', 'node:net'),
    ]);
    assert.deepEqual(problems, [
      'src/sources/nflog.ts: imports "netlink/dist/netlink.js": only netfilter may speak netlink (import src/netfilter/ instead)',
      'src/firewall/writer.ts: imports "netlink": only netfilter may speak netlink (import src/netfilter/ instead)',
    ]);
  });
});
