import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLab, type Lab } from '../../src/lab/netns.js';
import { connectFrom, startEchoServer, waitForLine } from '../../src/lab/processes.js';
import { e2eSkip, eventually, tempDir } from './support.js';

/**
 * The packages as an admin gets them: `npm run package` builds both, the npm tarball is
 * installed into a temporary prefix, the .deb is extracted into a temporary root, and each
 * installed `sesame` runs a whole knock in namespaces. Nothing is installed on the host.
 */
const repo = new URL('../../../', import.meta.url).pathname;
const pkgDir = join(repo, 'dist/pkg');
const version = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version;
const skip = e2eSkip({ 'dpkg-deb': 'dpkg', 'systemd-analyze': 'systemd', man: 'man-db', npm: 'npm' });

const WEB = `doors:
  web:
    knock: [6000, 7000, 8000]
    within: 5s
    open: [80]
    for: 30s
`;

let work: string;
before(() => {
  if (skip) return;
  work = tempDir('sesame-pkg-');
  execFileSync(process.execPath, [join(repo, 'scripts/package.mjs')], {
    cwd: repo,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Serve WEB with `bin`, knock with `bin` from a client: filtered before, open after, the knocker only. */
async function knockWith(bin: string): Promise<void> {
  const lab: Lab = createLab({ clients: 2, name: 'pkg' });
  const dir = tempDir();
  try {
    const config = join(dir, 'sesame.yaml');
    writeFileSync(config, WEB);
    await startEchoServer(lab, lab.server, [80]);
    const [alice, bob] = lab.clients;
    assert.equal((await connectFrom(lab, alice, lab.server.v4, 80, 1000)).result, 'open', 'service up before sesame');
    const daemon = lab.spawn(lab.server, bin, ['serve', '-c', config, '--state-dir', dir, '--log-format', 'json']);
    let log = '';
    daemon.stdout?.on('data', (d) => (log += d));
    await waitForLine(daemon, /"event":"started"/);
    assert.equal(
      (await connectFrom(lab, alice, lab.server.v4, 80, 1000)).result,
      'timeout',
      'filtered before knocking',
    );
    const k = await lab.run(alice, bin, ['knock', lab.server.v4, '6000', '7000', '8000']);
    assert.equal(k.code, 0, k.stderr);
    assert.equal((await connectFrom(lab, alice, lab.server.v4, 80, 1000)).result, 'open', 'open after the knock');
    assert.equal((await connectFrom(lab, bob, lab.server.v4, 80, 1000)).result, 'timeout', 'still closed for others');
    assert.ok(await eventually(() => /"event":"open".*"address":"198\.18\.0\.10"/.test(log)), log);
    const status = await lab.run(lab.server, bin, ['status']);
    assert.match(status.stdout, /web\s+198\.18\.0\.10\s+\d+s left/);
  } finally {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('npm tarball', { skip }, () => {
  test('installs into a prefix with `npm install -g` and its sesame opens a door in namespaces', async () => {
    const prefix = join(work, 'prefix');
    const tgz = join(pkgDir, `sesame-${version}.tgz`);
    const listing = execFileSync('tar', ['tzf', tgz], { encoding: 'utf8' });
    assert.doesNotMatch(listing, /package\/(src|test|bench|node_modules)\//, 'no sources or tests in the tarball');
    const manifest = JSON.parse(execFileSync('tar', ['xzOf', tgz, 'package/package.json'], { encoding: 'utf8' }));
    assert.deepEqual(Object.keys(manifest.dependencies), ['netlink'], 'only the runtime dependency outside the bundle');
    execFileSync('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tgz], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    assert.equal(execFileSync(join(prefix, 'bin/sesame'), ['--version'], { encoding: 'utf8' }).trim(), version);
    await knockWith(join(prefix, 'bin/sesame'));
  });
});

describe('Debian package', { skip }, () => {
  let root: string;
  before(() => {
    if (skip) return;
    root = join(work, 'root');
    mkdirSync(root);
    execFileSync('dpkg-deb', ['-x', join(pkgDir, `sesame_${version}_all.deb`), root]);
  });

  test('declares its dependencies, architecture all and the config as a conffile', () => {
    const deb = join(pkgDir, `sesame_${version}_all.deb`);
    const control = execFileSync('dpkg-deb', ['-f', deb], { encoding: 'utf8' });
    assert.match(control, /^Architecture: all$/m);
    assert.match(control, /^Depends: nodejs \(>= 20\), nftables, iproute2$/m);
    assert.equal(execFileSync('dpkg-deb', ['--ctrl-tarfile', deb]).length > 0, true);
    const tmp = join(work, 'ctrl');
    execFileSync('dpkg-deb', ['-e', deb, tmp]);
    assert.equal(readFileSync(join(tmp, 'conffiles'), 'utf8'), '/etc/sesame/sesame.yaml\n');
  });

  test('maintainer scripts: an upgrade restarts a running daemon, remove stops and disables it, purge removes the doors', () => {
    const ctrl = join(work, 'scripts');
    execFileSync('dpkg-deb', ['-e', join(pkgDir, `sesame_${version}_all.deb`), ctrl]);
    // a stand-in systemctl records what the scripts ask (nothing reaches the host's systemd)
    const fakeBin = join(work, 'fake-bin');
    const calls = join(work, 'systemctl-calls');
    mkdirSync(fakeBin);
    writeFileSync(join(fakeBin, 'systemctl'), `#!/bin/sh\necho "$*" >> ${calls}\nexit 0\n`, { mode: 0o755 });
    // the scripts act only on a host booted with systemd: point that check at a folder that exists
    const booted = join(work, 'run-systemd-system');
    mkdirSync(booted);
    const run = (script: string, ...args: string[]) => {
      rmSync(calls, { force: true });
      const copy = join(work, `${script}.sh`);
      writeFileSync(copy, readFileSync(join(ctrl, script), 'utf8').replaceAll('/run/systemd/system', booted));
      execFileSync('sh', [copy, ...args], { env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}` } });
      return existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : [];
    };
    assert.deepEqual(run('postinst', 'configure', '0.0.9'), [
      'daemon-reload',
      'is-active --quiet sesame.service',
      'restart sesame.service',
    ]);
    assert.deepEqual(run('postinst', 'configure', ''), ['daemon-reload'], 'a first install starts nothing');
    assert.deepEqual(run('prerm', 'remove'), ['disable --now sesame.service']);
    assert.deepEqual(run('prerm', 'upgrade'), [], 'an upgrade does not stop the daemon before the new files land');
    assert.match(
      readFileSync(join(ctrl, 'postrm'), 'utf8'),
      /purge[\s\S]*rm -rf \/var\/lib\/sesame[\s\S]*nft delete table inet sesame/,
    );
  });

  test('its example config enables no door: installing opens and closes nothing', () => {
    const out = execFileSync(
      join(root, 'usr/bin/sesame'),
      ['check', '--no-kernel', '-c', join(root, 'etc/sesame/sesame.yaml')],
      {
        encoding: 'utf8',
      },
    );
    assert.doesNotMatch(out, /\bset \S+_open_4\b/, 'no grant set, so no door');
    assert.match(out, /table inet sesame/);
  });

  test('its /usr/bin/sesame opens a door in namespaces', async () => {
    await knockWith(join(root, 'usr/bin/sesame'));
  });

  test('systemd-analyze verify accepts the unit', () => {
    // the host has no /usr/bin/sesame (nothing is installed): point the copy at the extracted one
    const unit = readFileSync(join(root, 'lib/systemd/system/sesame.service'), 'utf8');
    const dir = join(work, 'unit');
    mkdirSync(dir);
    writeFileSync(join(dir, 'sesame.service'), unit.replaceAll('/usr/bin/sesame', join(root, 'usr/bin/sesame')));
    // man pages are checked with `man -l` below; the host has none installed
    execFileSync('systemd-analyze', ['verify', '--man=no', join(dir, 'sesame.service')], { stdio: 'pipe' });
  });

  test('systemd-analyze security scores the unit 3.0 or lower', () => {
    const out = execFileSync(
      'systemd-analyze',
      ['security', '--offline=true', join(root, 'lib/systemd/system/sesame.service')],
      {
        encoding: 'utf8',
      },
    );
    const score = Number(/Overall exposure level for sesame\.service: ([\d.]+)/.exec(out)?.[1]);
    process.stdout.write(`# systemd-analyze security: ${score}\n`);
    assert.ok(score <= 3.0, `exposure ${score}:\n${out}`);
  });

  test('man -l renders sesame(8) and sesame.yaml(5) without warnings', () => {
    for (const [page, title] of [
      ['usr/share/man/man8/sesame.8.gz', 'SESAME(8)'],
      ['usr/share/man/man5/sesame.yaml.5.gz', 'SESAME.YAML(5)'],
    ]) {
      const r = spawnSync('man', ['--warnings', '-l', join(root, page)], {
        encoding: 'utf8',
        env: { ...process.env, MANWIDTH: '80' },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '', 'no groff warnings');
      const text = r.stdout.replace(/.\x08/g, ''); // overstrike bold/underline when not on a terminal
      assert.ok(text.startsWith(title), `${page} renders with its title`);
      assert.match(text, /^NAME\n {7}sesame/m);
    }
  });
});
