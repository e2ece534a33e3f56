import type { ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLab, type Host, type Lab } from '../../src/lab/netns.js';
import { connectFrom, sesame, startDaemon, startEchoServer } from '../../src/lab/processes.js';
import { tempDir } from './support.js';

/** A lab with a config, the stand-in service on `services`, and optionally `sesame serve` running. */
export interface DoorLab {
  readonly lab: Lab;
  readonly dir: string;
  readonly config: string;
  readonly server: Host;
  readonly clients: Host[];
  daemon?: ChildProcess & { output: () => string };
  startDaemon(): Promise<ChildProcess & { output: () => string }>;
  knock(client: Host, args: readonly string[], family?: 4 | 6): Promise<void>;
  connect(client: Host, port: number, opts?: { family?: 4 | 6; timeoutMs?: number }): Promise<string>;
  nft(args: readonly string[]): Promise<string>;
  destroy(): void;
}

export async function doorLab(
  yaml: string,
  opts: { clients?: number; services?: number[]; daemon?: boolean } = {},
): Promise<DoorLab> {
  const lab = createLab({ clients: opts.clients ?? 2 });
  const dir = tempDir();
  const config = join(dir, 'sesame.yaml');
  writeFileSync(config, yaml);
  const self: DoorLab = {
    lab,
    dir,
    config,
    server: lab.server,
    clients: lab.clients,
    async startDaemon() {
      self.daemon = await startDaemon(lab, lab.server, ['-c', config, '--state-dir', dir, '--log-format', 'json']);
      return self.daemon;
    },
    async knock(client, args, family = 4) {
      const host = family === 4 ? lab.server.v4 : lab.server.v6;
      const r = await sesame(lab, client, ['knock', host, ...args]);
      if (r.code !== 0) throw new Error(`knock failed: ${r.stderr}`);
    },
    async connect(client, port, o = {}) {
      const host = o.family === 6 ? lab.server.v6 : lab.server.v4;
      return (await connectFrom(lab, client, host, port, o.timeoutMs ?? 1000)).result;
    },
    async nft(args) {
      const r = await lab.run(lab.server, 'nft', args);
      return r.stdout + r.stderr;
    },
    destroy() {
      lab.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    if (opts.services?.length) await startEchoServer(lab, lab.server, opts.services);
    if (opts.daemon !== false) await self.startDaemon();
  } catch (err) {
    self.destroy();
    throw err;
  }
  return self;
}
