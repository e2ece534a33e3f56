import type { ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLab, type Host, type Lab } from '../../src/lab/netns.js';
import { connectFrom, startDaemon, startEchoServer } from '../../src/lab/processes.js';
import { tempDir } from './support.js';

/**
 * A lab for knockd.conf tests: the stand-in service on port 80 behind a base firewall in
 * the server namespace (an iptables INPUT rule dropping tcp/80, as a knockd user has), a
 * knockd.conf written to a temp folder, and `sesame serve --knockd-conf` in the server
 * namespace, so the door's iptables commands change that namespace's firewall only.
 */
export interface KnockdLab {
  readonly lab: Lab;
  readonly dir: string;
  readonly conf: string;
  readonly server: Host;
  readonly clients: Host[];
  daemon?: ChildProcess & { output: () => string };
  startDaemon(): Promise<ChildProcess & { output: () => string }>;
  /** Debian's knock client, run in `client`: `knock ARGS` (host first). */
  knock(client: Host, args: readonly string[]): Promise<string>;
  connect(client: Host, port?: number): Promise<string>;
  /** `iptables -S INPUT` in the server namespace. */
  rules(): Promise<string>;
  destroy(): void;
}

/** Builds the lab; `conf(dir)` returns the knockd.conf text (it may name files in `dir`). */
export async function knockdLab(conf: (dir: string) => string, opts: { clients?: number } = {}): Promise<KnockdLab> {
  const lab = createLab({ clients: opts.clients ?? 1, name: 'kd' });
  const dir = tempDir('sesame-knockd-');
  const file = join(dir, 'knockd.conf');
  const self: KnockdLab = {
    lab,
    dir,
    conf: file,
    server: lab.server,
    clients: lab.clients,
    async startDaemon() {
      self.daemon = await startDaemon(lab, lab.server, [
        '--knockd-conf',
        file,
        '--state-dir',
        dir,
        '--log-format',
        'json',
      ]);
      return self.daemon;
    },
    async knock(client, args) {
      const r = await lab.run(client, 'knock', args);
      if (r.code !== 0) throw new Error(`knock ${args.join(' ')} failed: ${r.stderr}`);
      return r.stdout;
    },
    async connect(client, port = 80) {
      return (await connectFrom(lab, client, lab.server.v4, port, 1000)).result;
    },
    async rules() {
      return (await lab.run(lab.server, 'iptables', ['-S', 'INPUT'])).stdout;
    },
    destroy() {
      lab.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    writeFileSync(file, conf(dir));
    const base = await lab.run(lab.server, 'iptables', ['-A', 'INPUT', '-p', 'tcp', '--dport', '80', '-j', 'DROP']);
    if (base.code !== 0) throw new Error(`base firewall: ${base.stderr}`);
    await startEchoServer(lab, lab.server, [80]);
  } catch (err) {
    self.destroy();
    throw err;
  }
  return self;
}
