import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
const skip = e2eSkip({
  'dpkg-deb': 'dpkg',
  'dpkg-shlibdeps': 'dpkg-dev',
  'deb-systemd-helper': 'init-system-helpers',
  lintian: 'lintian',
  readelf: 'binutils',
  'aarch64-linux-gnu-strip': 'binutils-aarch64-linux-gnu',
  unshare: 'util-linux',
  'systemd-analyze': 'systemd',
  man: 'man-db',
  npm: 'npm',
});

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
    assert.match(listing, /^package\/docs\/doors\.md$/m, "the README's docs/ links resolve in the package");
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

const ARCHES = ['amd64', 'arm64'] as const;
const debOf = (arch: string) => join(pkgDir, `sesame_${version}_${arch}.deb`);
const hostArch = () => execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
const author = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).author as string;

/** Programs that stand in for systemctl, deb-systemd-*, nft: each call is appended to CALLS. */
function recordingBin(dir: string, calls: string, names: string[]): string {
  mkdirSync(dir, { recursive: true });
  for (const name of names) {
    writeFileSync(join(dir, name), `#!/bin/sh\necho "${name} $*" >> ${calls}\nexit 0\n`, { mode: 0o755 });
  }
  return dir;
}
const readCalls = (calls: string) => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : []);

describe('Debian package', { skip }, () => {
  let root: string;
  before(() => {
    if (skip) return;
    root = join(work, 'root');
    mkdirSync(root);
    execFileSync('dpkg-deb', ['-x', debOf(hostArch()), root]);
  });

  test('one package per architecture, each with only its own netlink addon, stripped and 0644', () => {
    for (const arch of ARCHES) {
      const listing = execFileSync('dpkg-deb', ['-c', debOf(arch)], { encoding: 'utf8' });
      const addons = [
        ...listing.matchAll(/^(\S+) .* \.\/(usr\/lib\/sesame\/node_modules\/netlink\/prebuilds\/[^/]+\/\S+)$/gm),
      ];
      const prebuild = arch === 'amd64' ? 'linux-x64' : 'linux-arm64';
      assert.deepEqual(
        addons.map((m) => [m[1], m[2]]),
        [['-rw-r--r--', `usr/lib/sesame/node_modules/netlink/prebuilds/${prebuild}/node.napi.node`]],
        `${arch}: one addon, 0644`,
      );
      // every file 0644 but the three scripts with #!; every folder 0755
      const modes = new Set(
        listing
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(/\s+/)[0]),
      );
      assert.deepEqual([...modes].sort(), ['-rw-r--r--', '-rwxr-xr-x', 'drwxr-xr-x', 'lrwxrwxrwx'], arch);
      const executables = [...listing.matchAll(/^-rwxr-xr-x .* \.\/(\S+)$/gm)].map((m) => m[1]).sort();
      assert.deepEqual(executables, [
        'usr/lib/sesame/lib/cli/bin.js',
        'usr/lib/sesame/lib/lab/echo-server.js',
        'usr/lib/sesame/lib/lab/probe.js',
      ]);
      const dir = join(work, `addon-${arch}`);
      execFileSync('dpkg-deb', ['-x', debOf(arch), dir]);
      const addon = join(dir, addons[0][2]);
      const header = execFileSync('readelf', ['-h', addon], { encoding: 'utf8' });
      assert.match(header, arch === 'amd64' ? /Machine:\s+Advanced Micro Devices X86-64/ : /Machine:\s+AArch64/);
      const sections = execFileSync('readelf', ['-S', '-W', addon], { encoding: 'utf8' });
      assert.doesNotMatch(sections, /\.symtab|\.comment|\.debug_/, `${arch}: stripped like dh_strip`);
      assert.match(sections, /\.dynsym/, 'the dynamic symbols node loads it by stay');
    }
  });

  test('control: its architecture, Depends computed from the addon, the maintainer from package.json', () => {
    // the host's own architecture: exactly what dpkg-shlibdeps says about the addon
    const arch = hostArch();
    const build = join(work, 'shlibdeps');
    mkdirSync(join(build, 'debian'), { recursive: true });
    writeFileSync(join(build, 'debian/control'), 'Source: sesame\n\nPackage: sesame\nArchitecture: any\n');
    const addon = execFileSync('find', [root, '-name', 'node.napi.node'], { encoding: 'utf8' }).trim();
    const shlibs = spawnSync('dpkg-shlibdeps', ['-O', addon], { cwd: build, encoding: 'utf8' });
    const libs = /^shlibs:Depends=(.*)$/m.exec(shlibs.stdout)?.[1];
    assert.ok(libs?.includes('libc6 (>='), shlibs.stdout + shlibs.stderr);
    for (const a of ARCHES) {
      const control = execFileSync('dpkg-deb', ['-f', debOf(a)], { encoding: 'utf8' });
      assert.match(control, new RegExp(`^Architecture: ${a}$`, 'm'));
      assert.match(control, /^Maintainer: sesame maintainers <sesame@example\.org>$/m);
      assert.equal(/^Maintainer: (.*)$/m.exec(control)?.[1], author);
      const depends = /^Depends: (.*)$/m.exec(control)?.[1];
      if (a === arch) assert.equal(depends, `${libs}, nodejs (>= 20), nftables, iproute2`);
      // arm64's addon needs glibc 2.17 (its first release on arm64)
      else
        assert.match(
          depends ?? '',
          /^libc6 \(>= 2\.17\), libgcc-s1 \(>= [\d.]+\), libstdc\+\+6 \(>= [\d.]+\), nodejs \(>= 20\), nftables, iproute2$/,
        );
    }
    const tmp = join(work, 'ctrl');
    execFileSync('dpkg-deb', ['-e', debOf(arch), tmp]);
    assert.equal(readFileSync(join(tmp, 'conffiles'), 'utf8'), '/etc/sesame/sesame.yaml\n');
    // md5sums: every shipped file but the conffile, and dpkg agrees with each sum
    const sums = readFileSync(join(tmp, 'md5sums'), 'utf8');
    assert.doesNotMatch(sums, /etc\/sesame/);
    execFileSync('md5sum', ['--check', '--quiet', join(tmp, 'md5sums')], { cwd: root });
  });

  test('changelog and a machine-readable copyright file with the MIT notice', () => {
    const doc = join(root, 'usr/share/doc/sesame');
    // a native package (sesame is its own upstream): Policy 12.7 names it changelog.gz
    const changelog = execFileSync('gzip', ['-dc', join(doc, 'changelog.gz')], { encoding: 'utf8' });
    assert.match(changelog, new RegExp(`^sesame \\(${version.replaceAll('.', '\\.')}\\) unstable; urgency=\\w+\\n`));
    assert.match(
      changelog,
      /\n -- sesame maintainers <sesame@example\.org> {2}\w{3}, \d\d \w{3} \d{4} [\d:]{8} \+0000\n/,
    );
    const copyright = readFileSync(join(doc, 'copyright'), 'utf8');
    assert.match(copyright, /^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/\n/);
    assert.match(copyright, /\nFiles: \*\nCopyright: \d{4} sesame maintainers\nLicense: MIT\n/);
    assert.match(copyright, /\nLicense: MIT\n Permission is hereby granted, free of charge/);
    // every npm package the bundle holds has its paragraph
    for (const name of ['commander', 'yaml', 'zod', 'ioredis', 'prom-client', 'netlink', 'node-gyp-build'])
      assert.match(
        copyright,
        new RegExp(`\\nFiles: node_modules/${name}/\\*\\nCopyright: .+\\nLicense: \\S+\\n`),
        name,
      );
  });

  test('lintian: no error, and every warning it would give is overridden with a reason', () => {
    const debs = ARCHES.map(debOf);
    const r = spawnSync(
      'lintian',
      [
        '--fail-on',
        'error,warning',
        '--display-info',
        '--pedantic',
        '--display-experimental',
        '--show-overrides',
        ...debs,
      ],
      { encoding: 'utf8' },
    );
    const tags = r.stdout.split('\n').filter((l) => /^[EWIPXO]: /.test(l));
    const count = (c: string) => tags.filter((t) => t.startsWith(`${c}: `)).length;
    process.stdout.write(
      `# lintian ${ARCHES.join(' ')}: ${count('E')} errors, ${count('W')} warnings, ${count('I')} info, ${count('P')} pedantic, ${count('X')} experimental, ${count('O')} overridden\n`,
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
    // warnings, and the experimental or pedantic tags lintian shows on request: none left unexplained
    assert.deepEqual(
      tags.filter((t) => /^[EWPX]: /.test(t)),
      [],
    );
    // each override in the shipped file carries a comment above it
    const overrides = readFileSync(join(root, 'usr/share/lintian/overrides/sesame'), 'utf8').split('\n');
    overrides.forEach((line, i) => {
      if (/^sesame: /.test(line)) assert.match(overrides[i - 1] ?? '', /^# \S/, `a reason above "${line}"`);
    });

    // the positive control: the same files packaged as before (Architecture: all, root@localhost) fail
    const bad = join(work, 'bad-deb');
    execFileSync('dpkg-deb', ['-R', debOf('amd64'), bad]);
    const control = join(bad, 'DEBIAN/control');
    writeFileSync(
      control,
      readFileSync(control, 'utf8')
        .replace(/^Architecture: .*$/m, 'Architecture: all')
        .replace(/^Maintainer: .*$/m, 'Maintainer: sesame maintainers <root@localhost>'),
    );
    execFileSync('dpkg-deb', ['--root-owner-group', '-b', bad, join(work, 'bad.deb')], { stdio: 'ignore' });
    const b = spawnSync('lintian', ['--fail-on', 'error,warning', join(work, 'bad.deb')], { encoding: 'utf8' });
    assert.notEqual(b.status, 0, 'lintian fails the broken package');
    assert.match(b.stdout, /^E: sesame: arch-independent-package-contains-binary-or-object/m);
  });

  test('maintainer scripts on a running system: upgrade try-restarts, remove stops, no bare systemctl', () => {
    const ctrl = join(work, 'scripts');
    execFileSync('dpkg-deb', ['-e', debOf(hostArch()), ctrl]);
    // stand-ins record what the scripts ask (nothing reaches the host's systemd)
    const calls = join(work, 'systemctl-calls');
    const fakeBin = recordingBin(join(work, 'fake-bin'), calls, [
      'systemctl',
      'deb-systemd-invoke',
      'deb-systemd-helper',
      'nft',
    ]);
    // the scripts act only on a host booted with systemd: point that check at a folder that exists
    const booted = join(work, 'run-systemd-system');
    mkdirSync(booted);
    const state = join(work, 'running-root');
    const run = (script: string, ...args: string[]) => {
      rmSync(calls, { force: true });
      const copy = join(work, `${script}.sh`);
      writeFileSync(
        copy,
        readFileSync(join(ctrl, script), 'utf8')
          .replaceAll('/run/systemd/system', booted)
          .replaceAll('/var/lib/sesame', `${state}/var/lib/sesame`),
      );
      const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${fakeBin}:${process.env.PATH}` };
      delete env.DPKG_ROOT;
      execFileSync('sh', [copy, ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
      return readCalls(calls);
    };
    // an upgrade: re-creates the enable links the admin made, then restarts the daemon if it runs
    assert.deepEqual(run('postinst', 'configure', '0.0.9'), [
      'deb-systemd-helper debian-installed sesame.service',
      'deb-systemd-helper unmask sesame.service',
      'deb-systemd-helper --quiet was-enabled sesame.service',
      'deb-systemd-helper enable sesame.service',
      'deb-systemd-helper update-state sesame.service',
      'systemctl --system daemon-reload',
      'deb-systemd-invoke try-restart sesame.service',
    ]);
    const first = run('postinst', 'configure', '');
    assert.ok(
      !first.some((c) => /deb-systemd-invoke|systemctl (?!--system daemon-reload)/.test(c)),
      `a first install starts nothing: ${first}`,
    );
    assert.equal(statSync(join(state, 'var/lib/sesame')).mode & 0o7777, 0o700);
    assert.deepEqual(run('prerm', 'remove'), ['deb-systemd-invoke stop sesame.service']);
    assert.deepEqual(run('prerm', 'upgrade'), [], 'an upgrade does not stop the daemon before the new files land');
    assert.deepEqual(run('postrm', 'purge'), [
      'nft delete table inet sesame',
      'deb-systemd-helper purge sesame.service',
    ]);
    // lintian's rule: systemctl only for daemon-reload; starting and stopping go through deb-systemd-invoke
    for (const script of ['postinst', 'prerm', 'postrm']) {
      for (const line of readFileSync(join(ctrl, script), 'utf8').split('\n')) {
        if (/^\s*systemctl\b/.test(line)) assert.match(line, /daemon-reload/, `${script}: ${line}`);
      }
    }
  });

  test('dpkg into a temporary root: remove keeps config, state and doors and says so; purge removes them', () => {
    // dpkg --root runs the scripts with DPKG_ROOT set: they must touch neither systemd nor the kernel
    // (stand-ins on PATH record any such call; unshare -n gives them an empty network namespace anyway)
    const target = join(work, 'dpkg-root');
    for (const d of ['info', 'updates', 'triggers']) mkdirSync(join(target, 'var/lib/dpkg', d), { recursive: true });
    writeFileSync(join(target, 'var/lib/dpkg/status'), '');
    const calls = join(work, 'dpkg-root-calls');
    const fakeBin = recordingBin(join(work, 'dpkg-fake-bin'), calls, ['systemctl', 'deb-systemd-invoke', 'nft']);
    const dpkg = (...args: string[]) => {
      const r = spawnSync(
        'unshare',
        ['-n', 'dpkg', `--root=${target}`, '--force-script-chrootless', '--force-depends', '--log=/dev/null', ...args],
        { encoding: 'utf8', env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}` } },
      );
      assert.equal(r.status, 0, r.stdout + r.stderr);
      return r.stdout;
    };
    const installed = dpkg('--install', debOf(hostArch()));
    assert.match(installed, /no door is enabled yet/);
    const stateDir = join(target, 'var/lib/sesame');
    assert.equal(statSync(stateDir).mode & 0o7777, 0o700, 'the state dir is root-only');
    assert.equal(statSync(join(target, 'var/lib')).mode & 0o777, 0o755, 'its parents stay 0755');
    assert.ok(existsSync(join(target, 'usr/bin/sesame')));
    assert.ok(
      !existsSync(join(target, 'etc/systemd/system/multi-user.target.wants/sesame.service')),
      'installing does not enable the unit',
    );
    writeFileSync(join(stateDir, 'pending-stops.json'), '[]');

    const removed = dpkg('--remove', 'sesame');
    assert.match(removed, /Left in place: \/etc\/sesame .*\/var\/lib\/sesame/);
    assert.match(removed, /nft delete table inet sesame/);
    assert.ok(existsSync(join(target, 'etc/sesame/sesame.yaml')), 'remove keeps the config');
    assert.ok(existsSync(join(stateDir, 'pending-stops.json')), 'remove keeps the state');
    assert.ok(!existsSync(join(target, 'usr/bin/sesame')), 'remove removes the program');

    const purged = dpkg('--purge', 'sesame');
    assert.match(purged, /purged: \/etc\/sesame\/sesame\.yaml and \/var\/lib\/sesame removed/);
    assert.match(purged, /table inet sesame is left alone/);
    assert.ok(!existsSync(stateDir), 'purge removes the state');
    assert.ok(!existsSync(join(target, 'etc/sesame')), 'purge removes the config');
    assert.deepEqual(readCalls(calls), [], 'no call to systemd or nft for a root that is not the running system');
  });

  test('completion scripts for bash and zsh, the ones `sesame completion` prints', () => {
    const bin = join(root, 'usr/bin/sesame');
    for (const [shell, file] of [
      ['bash', 'usr/share/bash-completion/completions/sesame'],
      ['zsh', 'usr/share/zsh/vendor-completions/_sesame'],
    ]) {
      assert.equal(
        readFileSync(join(root, file), 'utf8'),
        execFileSync(bin, ['completion', shell], { encoding: 'utf8' }),
        file,
      );
    }
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
