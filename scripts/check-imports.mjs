#!/usr/bin/env node
// Keeps the layering true (run by `npm run lint`): every import in src/ must point down.
//
//   cli -> daemon -> (sources, firewall, fleet) -> core      config -> core      client -> (config, core)
//                      (sources, firewall) -> netfilter -> core
//
// - a layer imports only the layers listed for it in ALLOWED (and itself);
// - netfilter alone speaks netlink: only it imports the `netlink` package (or its submodules);
// - nothing imports cli; lab (namespaces for tests and the demo) is imported only by cli;
// - core imports no Node I/O module (it is pure: time, files and sockets come in as parameters);
// - cli runs no firewall program (nft, iptables...) itself: it asks the firewall backend;
// - no import cycles between files, type-only imports included (a cycle of types is still two files
//   that can't be read apart; shared contracts go down to core/contracts.ts).
// Type-only imports count for the layers too: an interface belongs to the layer of its implementations.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export const ALLOWED = {
  cli: ['daemon', 'sources', 'firewall', 'fleet', 'netfilter', 'config', 'client', 'core', 'lab'],
  daemon: ['sources', 'firewall', 'fleet', 'netfilter', 'config', 'core'],
  // fleet mode: Redis publishing and catch-up; the daemon wires it to the kernel
  fleet: ['core'],
  // sources read the files a door names (secrets) through config
  sources: ['netfilter', 'config', 'core'],
  firewall: ['netfilter', 'core'],
  // netlink sockets and codecs (NFLOG, NFQUEUE, nftables set elements), below sources and firewall
  netfilter: ['core'],
  config: ['core'],
  client: ['config', 'core'],
  lab: ['core'],
  core: [],
};

/**
 * Edges allowed for now, each as {from, to, why}; empty (the config -> sources/logwatch edge
 * went away when the fail2ban filter code moved to config/ and core/).
 */
export const EXCEPTIONS = [];

/** Node modules that do I/O; core may import none of them. */
export const IO_MODULES = [
  'fs',
  'fs/promises',
  'child_process',
  'net',
  'dgram',
  'dns',
  'http',
  'https',
  'http2',
  'tls',
  'os',
  'process',
  'cluster',
  'worker_threads',
  'readline',
  'inspector',
  'v8',
  'vm',
];

/** The npm package only the netfilter layer may import (any submodule too). */
export const NETLINK_PACKAGE = 'netlink';

/** Firewall programs: only the firewall layer runs them; the CLI asks the backend (src/firewall/). */
export const FIREWALL_PROGRAM = /^(?:nft|ip6?tables(?:-[a-z]+)*|ebtables|arptables)$/;

/** A process started with a literal program: `spawn('nft', ...)`, `execFile("/usr/sbin/nft", ...)`. */
const RUN_CALL = /\b(?:spawn|spawnSync|execFile|execFileSync|exec|execSync)\s*\(\s*(['"`])([^'"`]+)\1/g;

/** The firewall programs a file starts itself (by literal name or path). */
export function firewallRuns(text) {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  return [...code.matchAll(RUN_CALL)].map((m) => m[2].split('/').pop()).filter((p) => FIREWALL_PROGRAM.test(p));
}

/** Pure helpers of an I/O module that core may use (address syntax and CIDR matching). */
export const PURE_EXPORTS = { net: ['isIP', 'isIPv4', 'isIPv6', 'BlockList'] };

const SPECIFIER =
  /(?:^|[\s;])(?:import|export)\s+(type\s+)?(?:([\w*{}\s,]+?)\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** What a file imports: each module specifier and, for `import {a, b} from`, the names. */
export function importsOf(text) {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  return [...code.matchAll(SPECIFIER)].map((m) => {
    const list = /^\{([^}]*)\}$/.exec(m[2]?.trim() ?? '')?.[1];
    const parts =
      list === undefined
        ? null
        : list
            .split(',')
            .map((n) => n.trim())
            .filter(Boolean);
    const names = parts?.map((n) => n.replace(/^type\s+/, '').split(/\s+as\s+/)[0]) ?? null;
    return { spec: m[3] ?? m[4], names };
  });
}

const onlyPure = (mod, names) => names !== null && names.every((n) => (PURE_EXPORTS[mod] ?? []).includes(n));

const layerOf = (path) => /^src\/([^/]+)\//.exec(path)?.[1];

/**
 * Checks files ({path: 'src/...ts', text}) and returns one message per violation.
 * Pure, so the rules are unit-tested with made-up files.
 */
export function checkImports(files) {
  const problems = [];
  const graph = new Map();
  for (const { path, text } of files) {
    const from = layerOf(path);
    const edges = [];
    if (from === 'cli')
      for (const program of firewallRuns(text))
        problems.push(`${path}: runs ${program} itself: ask the firewall backend (src/firewall/) instead`);
    for (const { spec, names } of importsOf(text)) {
      if (!spec.startsWith('.')) {
        const mod = spec.replace(/^node:/, '');
        if ((spec === NETLINK_PACKAGE || spec.startsWith(`${NETLINK_PACKAGE}/`)) && from !== 'netfilter')
          problems.push(`${path}: imports "${spec}": only netfilter may speak netlink (import src/netfilter/ instead)`);
        if (from === 'core' && IO_MODULES.includes(mod) && !onlyPure(mod, names))
          problems.push(`${path}: core must not import the I/O module "${spec}" (pass the I/O in as a parameter)`);
        continue;
      }
      const target = join(dirname(path), spec).replace(/\.js$/, '.ts');
      edges.push(target);
      const to = layerOf(target);
      if (!from || !to || from === to) continue;
      if (EXCEPTIONS.some((e) => e.from === path && e.to === target)) continue;
      if (to === 'cli') problems.push(`${path}: imports ${target}: nothing may import cli`);
      else if (!(ALLOWED[from] ?? []).includes(to))
        problems.push(
          `${path}: imports ${target}: ${from} may import only ${[...(ALLOWED[from] ?? [])].join(', ') || 'nothing outside itself'}`,
        );
    }
    graph.set(path, edges);
  }
  for (const cycle of cycles(graph)) problems.push(`import cycle: ${cycle.join(' -> ')}`);
  return problems;
}

/** Each file cycle once (depth-first search, reported from the first file reached). */
function cycles(graph) {
  const found = [];
  const state = new Map(); // 1 = on the stack, 2 = done
  const stack = [];
  const visit = (node) => {
    state.set(node, 1);
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 1) found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 2);
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

function sourceFiles(root, dir = 'src') {
  const out = [];
  for (const name of readdirSync(join(root, dir)).sort()) {
    const path = `${dir}/${name}`;
    if (statSync(join(root, path)).isDirectory()) out.push(...sourceFiles(root, path));
    else if (name.endsWith('.ts')) out.push({ path, text: readFileSync(join(root, path), 'utf8') });
  }
  return out;
}

const self = resolve(new URL(import.meta.url).pathname);
if (process.argv[1] && resolve(process.argv[1]) === self) {
  const root = resolve(dirname(self), '..');
  const problems = checkImports(sourceFiles(root));
  if (problems.length) {
    console.error(`import layering (scripts/check-imports.mjs):\n${problems.map((p) => `  ${p}`).join('\n')}`);
    process.exit(1);
  }
  console.log(`imports: ${relative(process.cwd(), join(root, 'src')) || 'src'} follows the layering`);
}
