// The esbuild bundle of the CLI, from the compiled tree (dist/src): what the .deb and the npm
// package install (scripts/package.mjs) and what the bench runs (bench/bundled-sesame.ts).
//
// Starting node on one set of files instead of hundreds of modules is what every `sesame knock
// --proxy` (an ssh ProxyCommand) pays for. Commands stay lazily loaded (code splitting), so a
// knock never loads the daemon. The netlink addon is the only runtime dependency left outside.
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
export const RUNTIME_EXTERNAL = ['netlink'];

/**
 * Writes DEST/lib/cli/bin.js (the `sesame` command), its chunks and the helper entries.
 * Returns the folders of the npm packages it holds, as node_modules/NAME (for the .deb's copyright).
 */
export async function bundle(dest) {
  const { metafile } = await build({
    absWorkingDir: root,
    entryPoints: [
      'dist/src/cli/bin.js',
      // serve loads its config in a child process running this file (src/cli/config-process.ts)
      'dist/src/cli/config-child.js',
      'dist/src/lab/probe.js',
      'dist/src/lab/echo-server.js',
    ],
    outbase: 'dist/src',
    outdir: join(dest, 'lib'),
    // chunks one folder down, like the entries, so `new URL('../lab/probe.js', import.meta.url)` holds
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: RUNTIME_EXTERNAL,
    legalComments: 'linked',
    logLevel: 'warning',
    metafile: true,
    // bundled CommonJS packages (yaml, prom-client) call require() for node builtins
    banner: {
      js: "import { createRequire as __sesameRequire } from 'node:module'; const require = __sesameRequire(import.meta.url);",
    },
  });
  chmodSync(join(dest, 'lib/cli/bin.js'), 0o755);
  const packages = Object.keys(metafile.inputs)
    // from the first node_modules/ on: the paths are relative, and node_modules may be a symlink
    .map((file) => /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(file.slice(file.indexOf('node_modules/')))?.[1])
    .filter(Boolean);
  return [...new Set(packages)].sort();
}
