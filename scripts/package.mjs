#!/usr/bin/env node
// `npm run package`: builds dist/pkg/sesame-VERSION.tgz (npm) and dist/pkg/sesame_VERSION_all.deb
// from the compiled tree (dist/src, made by `npm run build` before this runs).
//
// Both carry one esbuild bundle of the CLI (lib/): starting node on one set of files instead of
// hundreds of modules is what every `sesame knock --proxy` (an ssh ProxyCommand) pays for.
// Commands stay lazily loaded (code splitting), so a knock never loads the daemon. The netlink
// addon is the only runtime dependency left outside the bundle (it ships prebuilt binaries for
// linux x64, arm, arm64 and ia32, which is why the .deb can be `Architecture: all`).
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { bundle, RUNTIME_EXTERNAL } from './bundle.mjs';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const out = join(root, 'dist/pkg');
// netlink's own runtime needs: its prebuilt loader (node-addon-api and @types are build-time only)
const DEB_MODULES = ['netlink', 'node-gyp-build'];

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

function copyMan(dest) {
  mkdirSync(dest, { recursive: true });
  for (const f of ['sesame.8', 'sesame.yaml.5']) cpSync(join(root, 'packaging/man', f), join(dest, f));
}

async function npmPackage() {
  const stage = join(out, 'npm');
  await bundle(stage);
  copyMan(join(stage, 'man'));
  cpSync(join(root, 'README.md'), join(stage, 'README.md'));
  const runtime = Object.fromEntries(RUNTIME_EXTERNAL.map((name) => [name, pkg.dependencies[name]]));
  writeFileSync(
    join(stage, 'package.json'),
    `${JSON.stringify(
      {
        name: pkg.name,
        version: pkg.version,
        description: pkg.description,
        license: pkg.license,
        type: 'module',
        bin: { sesame: 'lib/cli/bin.js' },
        man: ['man/sesame.8', 'man/sesame.yaml.5'],
        files: ['lib', 'man'],
        engines: pkg.engines,
        os: ['linux'],
        dependencies: runtime,
      },
      null,
      2,
    )}\n`,
  );
  execFileSync('npm', ['pack', '--silent', '--pack-destination', out], {
    cwd: stage,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return join(out, `${pkg.name}-${pkg.version}.tgz`);
}

function duKiB(path) {
  const s = statSync(path, { throwIfNoEntry: false });
  if (!s) return 0;
  if (!s.isDirectory()) return Math.ceil(s.size / 1024);
  return readdirSync(path).reduce((n, f) => n + duKiB(join(path, f)), 0);
}

async function debPackage() {
  const rootfs = join(out, 'deb');
  const lib = join(rootfs, 'usr/lib/sesame');
  await bundle(lib);
  writeFileSync(
    join(lib, 'package.json'),
    `${JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module' }, null, 2)}\n`,
  );
  for (const m of DEB_MODULES) {
    cpSync(join(root, 'node_modules', m), join(lib, 'node_modules', m), {
      recursive: true,
      // netlink's nested node_modules holds only type definitions; its C++ sources aren't needed
      filter: (src) => !/\/netlink\/(node_modules|src)(\/|$)/.test(src),
    });
  }
  mkdirSync(join(rootfs, 'usr/bin'), { recursive: true });
  symlinkSync('../lib/sesame/lib/cli/bin.js', join(rootfs, 'usr/bin/sesame'));
  const files = {
    'lib/systemd/system/sesame.service': 'packaging/sesame.service',
    'etc/sesame/sesame.yaml': 'packaging/sesame.yaml',
  };
  for (const [to, from] of Object.entries(files)) {
    mkdirSync(dirname(join(rootfs, to)), { recursive: true });
    cpSync(join(root, from), join(rootfs, to));
  }
  mkdirSync(join(rootfs, 'var/lib/sesame'), { recursive: true, mode: 0o700 });
  chmodSync(join(rootfs, 'var/lib/sesame'), 0o700);
  for (const [section, file] of [
    ['man8', 'sesame.8'],
    ['man5', 'sesame.yaml.5'],
  ]) {
    mkdirSync(join(rootfs, 'usr/share/man', section), { recursive: true });
    const text = readFileSync(join(root, 'packaging/man', file));
    writeFileSync(join(rootfs, 'usr/share/man', section, `${file}.gz`), gzipSync(text, { level: 9 }));
  }
  mkdirSync(join(rootfs, 'usr/share/doc/sesame'), { recursive: true });
  writeFileSync(
    join(rootfs, 'usr/share/doc/sesame/copyright'),
    `sesame ${pkg.version}, license ${pkg.license}.\nBundled: see /usr/lib/sesame/lib/cli/bin.js.LEGAL.txt and node_modules/*/LICENSE.\n`,
  );
  const control = join(rootfs, 'DEBIAN');
  mkdirSync(control);
  const size = duKiB(rootfs);
  writeFileSync(
    join(control, 'control'),
    `Package: sesame
Version: ${pkg.version}
Architecture: all
Maintainer: sesame maintainers <root@localhost>
Installed-Size: ${size}
Depends: nodejs (>= 20), nftables, iproute2
Section: net
Priority: optional
Description: port-knocking doors run by the kernel (nftables)
 sesame keeps ssh and admin ports invisible until an authorized person knocks:
 port sequences, single-port doors, web knocks with one-time codes, a shared
 443 port. Doors compile into one nftables table; knock state and grants live
 in kernel sets with timeouts, so grants expire even when the daemon is down.
 .
 Needs Node.js 20 or later (Debian 13, or NodeSource on Debian 12).
`,
  );
  writeFileSync(join(control, 'conffiles'), '/etc/sesame/sesame.yaml\n');
  for (const [name, body] of Object.entries(maintainerScripts)) {
    writeFileSync(join(control, name), body);
    chmodSync(join(control, name), 0o755);
  }
  const deb = join(out, `${pkg.name}_${pkg.version}_all.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', rootfs, deb], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return deb;
}

// Installing enables nothing and opens nothing: the admin enables the unit after writing doors.
// Removing stops the daemon but leaves the kernel table (the doors keep working) until purge
// or `nft delete table inet sesame`; the unit's man page says so.
const maintainerScripts = {
  postinst: `#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null || true
  # an upgrade restarts a running daemon on the new code; grants keep their remaining time
  if [ -n "$2" ] && systemctl is-active --quiet sesame.service; then systemctl restart sesame.service || true; fi
fi
`,
  prerm: `#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl disable --now sesame.service >/dev/null 2>&1 || true
fi
`,
  postrm: `#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
if [ "$1" = purge ]; then
  rm -rf /var/lib/sesame
  # purge removes the doors too; plain remove leaves them working (grants expire on their own)
  if command -v nft >/dev/null 2>&1; then nft delete table inet sesame >/dev/null 2>&1 || true; fi
fi
`,
};

const tgz = await npmPackage();
const deb = await debPackage();
process.stdout.write(`${tgz}\n${deb}\n`);
