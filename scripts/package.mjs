#!/usr/bin/env node
// `npm run package`: builds dist/pkg/sesame-VERSION.tgz (npm) and one dist/pkg/sesame_VERSION_ARCH.deb
// per Debian architecture (amd64, arm64: scripts/deb/) from the compiled tree (dist/src, made by
// `npm run build` before this runs).
//
// Both carry one esbuild bundle of the CLI (lib/): starting node on one set of files instead of
// hundreds of modules is what every `sesame knock --proxy` (an ssh ProxyCommand) pays for.
// Commands stay lazily loaded (code splitting), so a knock never loads the daemon. The netlink
// addon is the only runtime dependency left outside the bundle: it ships prebuilt binaries for
// linux x64, arm, arm64 and ia32; the npm package keeps them all, each .deb only its own.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundle, RUNTIME_EXTERNAL } from './bundle.mjs';
import { ARCHITECTURES, debPackage } from './deb/build-deb.mjs';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const out = join(root, 'dist/pkg');

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
  // the README links into docs/: ship the pages so the links work from the package too
  cpSync(join(root, 'docs'), join(stage, 'docs'), { recursive: true });
  cpSync(join(root, 'LICENSE'), join(stage, 'LICENSE'));
  const runtime = Object.fromEntries(RUNTIME_EXTERNAL.map((name) => [name, pkg.dependencies[name]]));
  writeFileSync(
    join(stage, 'package.json'),
    `${JSON.stringify(
      {
        name: pkg.name,
        version: pkg.version,
        description: pkg.description,
        license: pkg.license,
        author: pkg.author,
        type: 'module',
        bin: { sesame: 'lib/cli/bin.js' },
        man: ['man/sesame.8', 'man/sesame.yaml.5'],
        files: ['lib', 'man', 'docs'],
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

/** The completion scripts, from the CLI definition itself (`sesame completion SHELL`). */
function completions() {
  const cli = join(root, 'dist/src/cli/main.js');
  const script = (shell) => execFileSync(process.execPath, [cli, 'completion', shell], { encoding: 'utf8' });
  return { bash: script('bash'), zsh: script('zsh') };
}

const tgz = await npmPackage();
const shells = completions();
const debs = [];
for (const arch of Object.keys(ARCHITECTURES))
  debs.push(await debPackage({ root, pkg, out, arch, completions: shells }));
process.stdout.write(`${[tgz, ...debs].join('\n')}\n`);
