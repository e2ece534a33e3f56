// One .deb for one Debian architecture: dist/pkg/sesame_VERSION_ARCH.deb.
//
// The package holds the esbuild bundle (architecture-independent JavaScript) and, from the
// netlink npm package, only the prebuilt addon for ARCH, stripped as dh_strip does it. Depends
// comes from that addon's libraries (shlib-depends.mjs), like ${shlibs:Depends} would.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { bundle } from '../bundle.mjs';
import { copyrightText } from './copyright.mjs';
import { maintainerScripts } from './maintainer-scripts.mjs';
import { elfMachine, shlibDepends } from './shlib-depends.mjs';

/** Debian architecture -> netlink's prebuild folder, the ELF machine it must be, its strip. */
export const ARCHITECTURES = {
  amd64: { prebuild: 'linux-x64', machine: 'Advanced Micro Devices X86-64', strip: 'x86_64-linux-gnu-strip' },
  arm64: { prebuild: 'linux-arm64', machine: 'AArch64', strip: 'aarch64-linux-gnu-strip' },
};

// netlink and its prebuilt loader (node-addon-api and @types are build-time only), each with
// only what runs: manifest and code. No sources, maps, types, docs or command-line tools; their
// licenses are in the copyright file.
const DEB_MODULES = {
  netlink: (path) => path === 'package.json' || /^dist\/.*\.js$/.test(path),
  'node-gyp-build': (path) => ['package.json', 'index.js', 'node-gyp-build.js'].includes(path),
};
// files that start with #! and run: the command and the lab's helpers (`sesame demo` runs them)
const EXECUTABLES = [
  'usr/lib/sesame/lib/cli/bin.js',
  'usr/lib/sesame/lib/lab/probe.js',
  'usr/lib/sesame/lib/lab/echo-server.js',
];
const DOC = 'usr/share/doc/sesame';

const gz = (text) => gzipSync(text, { level: 9 });

function write(rootfs, path, content, mode = 0o644) {
  mkdirSync(dirname(join(rootfs, path)), { recursive: true });
  writeFileSync(join(rootfs, path), content);
  chmodSync(join(rootfs, path), mode);
}

/** Every directory 0755 and file 0644, except the executables named (Debian policy 10.9). */
function normalizeModes(dir, executables, top = dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const s = lstatSync(path);
    if (s.isSymbolicLink()) continue;
    if (s.isDirectory()) {
      chmodSync(path, 0o755);
      normalizeModes(path, executables, top);
    } else chmodSync(path, executables.has(relative(top, path)) ? 0o755 : 0o644);
  }
}

/** Removes the folders under DIR that hold no file (what a filtered copy leaves behind). */
function removeEmptyDirs(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (lstatSync(path).isDirectory()) removeEmptyDirs(path);
  }
  if (!readdirSync(dir).length) rmSync(dir, { recursive: true });
}

function duKiB(path) {
  const s = lstatSync(path);
  if (!s.isDirectory()) return Math.ceil(s.size / 1024);
  return readdirSync(path).reduce((n, f) => n + duKiB(join(path, f)), 1);
}

/** DEBIAN/md5sums: every regular file but DEBIAN's and the conffiles, as dh_md5sums writes it. */
function md5sums(rootfs, conffiles, dir = rootfs) {
  let text = '';
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const s = lstatSync(path);
    if (s.isDirectory()) {
      if (path !== join(rootfs, 'DEBIAN')) text += md5sums(rootfs, conffiles, path);
    } else if (s.isFile() && !conffiles.includes(`/${relative(rootfs, path)}`)) {
      text += `${createHash('md5').update(readFileSync(path)).digest('hex')}  ${relative(rootfs, path)}\n`;
    }
  }
  return text;
}

/** The top entry's version of a Debian changelog. */
function changelogVersion(text) {
  return /^\S+ \(([^)]+)\)/.exec(text)?.[1];
}

/** Builds OUT/sesame_VERSION_ARCH.deb. `completions` maps shell -> script text. */
export async function debPackage({ root, pkg, out, arch, completions }) {
  const target = ARCHITECTURES[arch];
  if (!target) throw new Error(`no .deb for architecture ${arch}: known are ${Object.keys(ARCHITECTURES).join(', ')}`);
  const rootfs = join(out, `deb-${arch}`);
  rmSync(rootfs, { recursive: true, force: true });
  const lib = join(rootfs, 'usr/lib/sesame');
  const bundled = await bundle(lib);
  writeFileSync(
    join(lib, 'package.json'),
    `${JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module' }, null, 2)}\n`,
  );
  for (const [m, keep] of Object.entries(DEB_MODULES)) {
    const from = join(root, 'node_modules', m);
    cpSync(from, join(lib, 'node_modules', m), {
      recursive: true,
      filter: (src) => lstatSync(src).isDirectory() || keep(relative(from, src)),
    });
    removeEmptyDirs(join(lib, 'node_modules', m));
  }
  // this architecture's addon only, stripped of its symbol table and notes as dh_strip would
  const addon = join(lib, 'node_modules/netlink/prebuilds', target.prebuild, 'node.napi.node');
  mkdirSync(dirname(addon), { recursive: true });
  cpSync(join(root, 'node_modules/netlink/prebuilds', target.prebuild, 'node.napi.node'), addon);
  const machine = elfMachine(addon);
  if (machine !== target.machine) throw new Error(`${addon}: ELF machine ${machine}, expected ${target.machine}`);
  execFileSync(target.strip, ['--remove-section=.comment', '--remove-section=.note', '--strip-unneeded', addon]);

  mkdirSync(join(rootfs, 'usr/bin'), { recursive: true });
  symlinkSync('../lib/sesame/lib/cli/bin.js', join(rootfs, 'usr/bin/sesame'));
  write(rootfs, 'lib/systemd/system/sesame.service', readFileSync(join(root, 'packaging/sesame.service')));
  write(rootfs, 'etc/sesame/sesame.yaml', readFileSync(join(root, 'packaging/sesame.yaml')));
  for (const [section, file] of [
    ['man8', 'sesame.8'],
    ['man5', 'sesame.yaml.5'],
  ]) {
    write(rootfs, `usr/share/man/${section}/${file}.gz`, gz(readFileSync(join(root, 'packaging/man', file))));
  }
  write(rootfs, 'usr/share/bash-completion/completions/sesame', completions.bash);
  write(rootfs, 'usr/share/zsh/vendor-completions/_sesame', completions.zsh);

  const changelog = readFileSync(join(root, 'packaging/changelog'), 'utf8');
  if (changelogVersion(changelog) !== pkg.version)
    throw new Error(
      `packaging/changelog: top entry is ${changelogVersion(changelog)}, package.json says ${pkg.version}: add an entry`,
    );
  write(rootfs, `${DOC}/changelog.gz`, gz(changelog));
  write(
    rootfs,
    `${DOC}/copyright`,
    copyrightText({
      root,
      pkg,
      license: readFileSync(join(root, 'LICENSE'), 'utf8'),
      packages: [...new Set([...bundled, ...Object.keys(DEB_MODULES).map((m) => `node_modules/${m}`)])],
    }),
  );
  write(rootfs, 'usr/share/lintian/overrides/sesame', readFileSync(join(root, 'packaging/lintian-overrides')));
  normalizeModes(rootfs, new Set(EXECUTABLES));

  const control = join(rootfs, 'DEBIAN');
  mkdirSync(control);
  const depends = [shlibDepends(addon), 'nodejs (>= 20)', 'nftables', 'iproute2'].join(', ');
  write(
    rootfs,
    'DEBIAN/control',
    `Package: ${pkg.name}
Version: ${pkg.version}
Architecture: ${arch}
Maintainer: ${pkg.author}
Installed-Size: ${duKiB(rootfs)}
Depends: ${depends}
Section: net
Priority: optional
${pkg.homepage ? `Homepage: ${pkg.homepage}\n` : ''}Description: port-knocking doors run by the kernel (nftables)
 sesame keeps ssh and admin ports invisible until an authorized person knocks:
 port sequences, single-port doors, web knocks with one-time codes, a shared
 443 port. Doors compile into one nftables table; knock state and grants live
 in kernel sets with timeouts, so grants expire even when the daemon is down.
 .
 Needs Node.js 20 or later (Debian 13, or NodeSource on Debian 12).
`,
  );
  const conffiles = ['/etc/sesame/sesame.yaml'];
  write(rootfs, 'DEBIAN/conffiles', `${conffiles.join('\n')}\n`);
  for (const [name, body] of Object.entries(maintainerScripts)) write(rootfs, `DEBIAN/${name}`, body, 0o755);
  write(rootfs, 'DEBIAN/md5sums', md5sums(rootfs, conffiles));
  const deb = join(out, `${pkg.name}_${pkg.version}_${arch}.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', rootfs, deb], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return deb;
}
