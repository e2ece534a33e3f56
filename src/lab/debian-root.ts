import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/**
 * A Debian root for containers booted by their own systemd (src/lab/container.ts), made with
 * debootstrap from Debian's packages once per machine and kept outside the repository, so a
 * test pays the build (about 1.5 minutes) once and boots a fresh overlay of it every run.
 */

export const SUITE = 'bookworm';
/** Where the root and the local nodejs package are cached (`SESAME_TEST_CACHE` overrides). */
export const CACHE_DIR = process.env.SESAME_TEST_CACHE ?? '/var/cache/sesame-test';
/**
 * What the root holds beyond minbase: systemd as PID 1 with D-Bus, what sesame's .deb depends
 * on besides nodejs (nftables, iproute2), an sshd and python3-apt for Ansible, libstdc++ for node.
 */
export const ROOT_PACKAGES: readonly string[] = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'nftables',
  'iproute2',
  'openssh-server',
  'python3',
  'python3-apt',
  'libstdc++6',
  'procps',
];
const FALLBACK_MIRROR = 'http://deb.debian.org/debian';

/** The Debian mirror apt uses here for SUITE (sources.list and deb822 .sources), or deb.debian.org. */
export function debianMirror(): string {
  const files = ['/etc/apt/sources.list'];
  if (existsSync('/etc/apt/sources.list.d'))
    files.push(...readdirSync('/etc/apt/sources.list.d').map((f) => join('/etc/apt/sources.list.d', f)));
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const found = file.endsWith('.sources') ? mirrorIn822(text) : mirrorInList(text);
    if (found) return found;
  }
  return FALLBACK_MIRROR;
}

function mirrorInList(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const words = line
      .replace(/#.*/, '')
      .replace(/\[[^\]]*\]/, '')
      .trim()
      .split(/\s+/);
    if (words[0] === 'deb' && words[2] === SUITE && /^https?:/.test(words[1] ?? '')) return words[1];
  }
  return undefined;
}

function mirrorIn822(text: string): string | undefined {
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(stanza)?.[1]?.trim().split(/\s+/);
    const uri = field('URIs')?.find((u) => /^https?:/.test(u));
    if (uri && field('Types')?.includes('deb') && field('Suites')?.includes(SUITE)) return uri;
  }
  return undefined;
}

/** Runs a command to its end, rejecting with its output when it fails or outlives `timeoutMs`. */
function run(cmd: string, args: readonly string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? code}):\n${out.slice(-4000)}`));
    });
  });
}

/**
 * The cached root, built first if it is missing or was made with other packages. The build
 * runs under a lock into `<root>.new` and is renamed only when debootstrap succeeded, so a
 * killed build is never taken for a root; `--one-file-system` keeps the cleanup of a failed
 * build out of anything debootstrap left mounted in it.
 */
export async function ensureDebianRoot(): Promise<string> {
  const root = join(CACHE_DIR, `rootfs-${SUITE}`);
  const want = ROOT_PACKAGES.join(',');
  if (stampOf(root) === want) return root;
  mkdirSync(CACHE_DIR, { recursive: true });
  const script = `set -e
root=$1 want=$2 mirror=$3
[ -f "$root/.sesame-root" ] && [ "$(cat "$root/.sesame-root")" = "$want" ] && exit 0
rm -rf --one-file-system "$root.new"
debootstrap --variant=minbase --include="$want" ${SUITE} "$root.new" "$mirror"
# apt's downloaded .debs are 60 MB the containers never need
rm -f "$root.new"/var/cache/apt/archives/*.deb
printf '%s' "$want" > "$root.new/.sesame-root"
rm -rf --one-file-system "$root"
mv "$root.new" "$root"`;
  await run(
    'flock',
    ['-w', '900', join(CACHE_DIR, '.lock'), 'sh', '-c', script, 'sh', root, want, debianMirror()],
    900_000,
  );
  return root;
}

function stampOf(root: string): string | undefined {
  try {
    return readFileSync(join(root, '.sesame-root'), 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * A `nodejs` package holding this machine's node binary (Debian 12 ships Node 18; sesame needs
 * 20+), cached next to the root. It satisfies the sesame .deb's `Depends: nodejs (>= 20)`, so
 * dpkg, apt and Ansible install sesame exactly as on a host with NodeSource's or Debian 13's.
 */
export function localNodePackage(): string {
  const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  const version = `${process.versions.node}-0sesame1`;
  const deb = join(CACHE_DIR, `nodejs_${version}_${arch}.deb`);
  if (existsSync(deb)) return deb;
  mkdirSync(CACHE_DIR, { recursive: true });
  const stage = join(CACHE_DIR, `nodejs-stage-${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  try {
    mkdirSync(join(stage, 'usr/bin'), { recursive: true });
    copyFileSync(process.execPath, join(stage, 'usr/bin/node'));
    chmodSync(join(stage, 'usr/bin/node'), 0o755);
    mkdirSync(join(stage, 'DEBIAN'));
    writeFileSync(
      join(stage, 'DEBIAN/control'),
      `Package: nodejs
Version: ${version}
Architecture: ${arch}
Maintainer: sesame tests <sesame@localhost>
Depends: libc6, libstdc++6, libgcc-s1
Section: javascript
Priority: optional
Description: Node.js ${process.versions.node} (this machine's binary, for sesame's container tests)
`,
    );
    // uncompressed: gzip of 100 MB costs seconds on every new machine and the file stays local
    execFileSync('dpkg-deb', ['--root-owner-group', '-Znone', '--build', stage, `${deb}.tmp`], { stdio: 'ignore' });
    execFileSync('mv', [`${deb}.tmp`, deb]);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return deb;
}
