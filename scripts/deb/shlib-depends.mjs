// The Debian dependencies of a shared object (the netlink addon), as dpkg-shlibdeps computes
// them: each library it links (NEEDED) names its package, and each symbol version it needs
// (GLIBC_2.14, GLIBCXX_3.4.21, ...) the lowest version of that package that has it.
//
// dpkg-shlibdeps itself only reads libraries installed for the host's architecture, so it
// can't do the arm64 package on an amd64 host. `readelf` reads any architecture's ELF, and the
// host's symbols files (/var/lib/dpkg/info/*.symbols) map version nodes to package versions;
// those nodes are the same on every architecture. A test checks the result against
// dpkg-shlibdeps for the host's own architecture.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const DPKG_INFO = '/var/lib/dpkg/info';

/** soname -> { pkg, nodes: Map(version node -> minimal package version) }, from the host's symbols files. */
export function hostSymbols(dir = DPKG_INFO) {
  const libs = new Map();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.symbols'))) {
    let lib;
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      const header = /^(\S+)\s+(\S+)\s+#MINVER#/.exec(line);
      if (header) {
        lib = { pkg: header[2], nodes: new Map() };
        if (!libs.has(header[1])) libs.set(header[1], lib);
        continue;
      }
      // a version node's own line: " GLIBC_2.14@GLIBC_2.14 2.14"
      const node = /^ (\S+)@(\S+) (\S+)/.exec(line);
      if (lib && node && node[1] === node[2]) lib.nodes.set(node[1], node[3]);
    }
  }
  return libs;
}

/** NEEDED sonames and, per soname, the version nodes required from it (`readelf -d -V`). */
export function elfNeeds(file) {
  const dynamic = execFileSync('readelf', ['-d', '-W', file], { encoding: 'utf8' });
  const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const versions = execFileSync('readelf', ['-V', '-W', file], { encoding: 'utf8' });
  const nodes = new Map(needed.map((s) => [s, []]));
  const section = versions.split(/Version needs section/)[1] ?? '';
  let current;
  for (const line of section.split('\n')) {
    const f = /File: (\S+)/.exec(line);
    if (f) {
      current = f[1];
      if (!nodes.has(current)) nodes.set(current, []);
      continue;
    }
    const n = /Name: (\S+)/.exec(line);
    if (n && current) nodes.get(current).push(n[1]);
  }
  return nodes;
}

/** The ELF machine readelf names (`Advanced Micro Devices X86-64`, `AArch64`, ...). */
export function elfMachine(file) {
  const header = execFileSync('readelf', ['-h', '-W', file], { encoding: 'utf8' });
  return /Machine:\s+(.+)/.exec(header)?.[1].trim();
}

/** Debian's own version comparison, enough for the upstream versions symbols files hold. */
function compareVersions(a, b) {
  const pa = a.split(/[.~+-]/).map(Number);
  const pb = b.split(/[.~+-]/).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

function packageNode(symbols, pkg, node) {
  for (const lib of symbols.values()) if (lib.pkg === pkg && lib.nodes.has(node)) return lib.nodes.get(node);
  return undefined;
}

// glibc's dynamic loader and its merged-in libpthread: named per architecture, always libc6's
const GLIBC_PARTS = /^(ld-linux[-\w.]*\.so\.\d+|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1)$/;

/**
 * "libc6 (>= 2.14), libgcc-s1 (>= 3.0), libstdc++6 (>= 5.2)" for FILE, sorted like dpkg-shlibdeps.
 * Throws, naming the library or version, when the host's symbols files can't answer.
 */
export function shlibDepends(file, symbols = hostSymbols()) {
  const minimum = new Map();
  const need = (pkg, version) => {
    const had = minimum.get(pkg);
    if (had === undefined || (version && (!had || compareVersions(version, had) > 0))) minimum.set(pkg, version);
  };
  for (const [soname, nodes] of elfNeeds(file)) {
    const lib = symbols.get(soname) ?? (GLIBC_PARTS.test(soname) ? symbols.get('libc.so.6') : undefined);
    if (!lib) throw new Error(`${file}: no symbols file on this host names ${soname} (install its package)`);
    if (!nodes.length) need(lib.pkg, undefined);
    for (const node of nodes) {
      // glibc's libraries share its version nodes: libpthread's GLIBC_2.17 is libc's on amd64
      const version = lib.nodes.get(node) ?? packageNode(symbols, lib.pkg, node);
      if (!version) throw new Error(`${file}: ${soname} version ${node} is not in the host's ${lib.pkg} symbols`);
      need(lib.pkg, version);
    }
  }
  return [...minimum]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([pkg, v]) => (v ? `${pkg} (>= ${v})` : pkg))
    .join(', ');
}
