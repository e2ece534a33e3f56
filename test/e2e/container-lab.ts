import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { bootContainer, type Container } from '../../src/lab/container.js';
import { ensureDebianRoot, localNodePackage } from '../../src/lab/debian-root.js';
import { createLab, type Lab } from '../../src/lab/netns.js';
import { sesame } from '../../src/lab/processes.js';
import { e2eSkip, tempDir } from './support.js';

/**
 * A lab whose server namespace is the network of a Debian container booted by its own systemd
 * (src/lab/container.ts), with the freshly built sesame .deb and a local nodejs package bound
 * read-only at /srv/sesame-test. Clients knock from their namespaces, from outside the container.
 */

const repo = new URL('../../../', import.meta.url).pathname;
export const SHARE = '/srv/sesame-test';

export const containerSkip = () =>
  e2eSkip({
    debootstrap: 'debootstrap',
    'systemd-nspawn': 'systemd-container',
    nsenter: 'util-linux',
    unshare: 'util-linux',
    flock: 'util-linux',
    'dpkg-deb': 'dpkg',
  });

export interface ContainerLab {
  readonly lab: Lab;
  /** The running container (a new one after reboot()). */
  readonly container: Container;
  /** Host folder seen in the container at SHARE. */
  readonly share: string;
  /** The sesame .deb's file name in SHARE. */
  readonly deb: string;
  /** `cmd args` in the container; throws with its output unless it exits 0. */
  sh(script: string, input?: string): Promise<string>;
  /** A client knocks 7000, 8000, 9000 at the container with the compiled sesame. */
  knock(client: number, ports?: readonly number[]): Promise<void>;
  /** Powers the container off and boots the same system again (its overlay is kept). */
  reboot(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * `npm run package` once per call, under a lock shared by the container tests (it empties
 * dist/pkg first), then the .deb for this machine's architecture copied into `dir`.
 */
function buildDeb(dir: string): string {
  execFileSync(
    'flock',
    ['-w', '600', '/tmp/sesame-package.lock', process.execPath, join(repo, 'scripts/package.mjs')],
    {
      cwd: repo,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  const pkgDir = join(repo, 'dist/pkg');
  const deb = readdirSync(pkgDir).find(
    (f) => f.startsWith('sesame_') && (f.endsWith(`_${arch}.deb`) || f.endsWith('_all.deb')),
  );
  if (!deb) throw new Error(`npm run package made no sesame_*_${arch}.deb in ${pkgDir}`);
  copyFileSync(join(pkgDir, deb), join(dir, deb));
  return deb;
}

/** Builds the .deb, boots the container in a fresh lab and installs the local nodejs package. */
export async function startContainerLab(opts: { name: string; clients: number }): Promise<ContainerLab> {
  const work = tempDir('sesame-container-');
  const share = join(work, 'share');
  mkdirSync(share);
  const deb = buildDeb(share);
  const root = await ensureDebianRoot();
  const node = localNodePackage();
  copyFileSync(node, join(share, basename(node)));
  const lab = createLab({ clients: opts.clients, name: opts.name });
  let container: Container | undefined;
  const destroy = async () => {
    await container?.stop();
    lab.destroy();
    rmSync(work, { recursive: true, force: true });
  };
  const boot = () =>
    bootContainer({
      root,
      state: join(work, 'state'),
      netns: lab.server.ns,
      name: opts.name,
      bindReadOnly: [[share, SHARE]],
    });
  try {
    container = await boot();
    const sh = async (script: string, input?: string) => {
      const r = await (container as Container).exec('sh', ['-c', script], { input, timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`in the container, \`${script}\` exited ${r.code}:\n${r.stdout}${r.stderr}`);
      return r.stdout;
    };
    await sh(`dpkg -i ${SHARE}/${basename(node)}`);
    return {
      lab,
      get container() {
        return container as Container;
      },
      share,
      deb,
      sh,
      async knock(client, ports = [7000, 8000, 9000]) {
        const r = await sesame(lab, lab.clients[client], ['knock', lab.server.v4, ...ports.map(String)]);
        if (r.code !== 0) throw new Error(`knock failed: ${r.stderr}`);
      },
      async reboot() {
        await container?.stop();
        container = undefined;
        container = await boot();
      },
      destroy,
    };
  } catch (err) {
    await destroy();
    throw err;
  }
}
