import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { base32Encode } from '../../src/core/totp.js';
import { createLab, type Host, type Lab } from '../../src/lab/netns.js';
import { connectFrom, startDaemon, startEchoServer } from '../../src/lab/processes.js';
import { type LabSshd, startSshd } from '../../src/lab/sshd.js';
import { eventually, tempDir } from './support.js';

/** A lab for web knocking: real sshd on 22, `sesame serve` with the given doors, curl from clients. */
export interface WebLab {
  readonly lab: Lab;
  readonly dir: string;
  readonly config: string;
  readonly sshd: LabSshd;
  daemon: ChildProcess & { output: () => string };
  /** Runs curl in `client`; returns the HTTP status and the body. */
  curl(client: Host, args: readonly string[]): Promise<{ status: number; body: string }>;
  /** `open` when a new TCP connection from `client` to the server's `port` gets through. */
  connect(client: Host, port: number, timeoutMs?: number): Promise<string>;
  destroy(): void;
}

/** Writes a fresh secret (what `sesame token --new-secret` makes) into `dir`. */
export function writeSecret(dir: string, name: string): { key: Buffer; file: string } {
  const key = randomBytes(20);
  const file = join(dir, `${name}.key`);
  writeFileSync(file, `${base32Encode(key)}\n`, { mode: 0o600 });
  return { key, file };
}

/**
 * Builds the lab; `yaml(dir)` returns the config (so it can name files in the temp folder).
 * Waits until the daemon's sources have started (`ready` log event).
 */
export async function webLab(
  yaml: (dir: string) => string,
  opts: {
    clients?: number;
    /** server-like hosts beside the server (an identity provider) */ peers?: number;
    echo?: number[];
    ready: RegExp;
    before?: (lab: Lab, dir: string) => Promise<void>;
    daemonEnv?: NodeJS.ProcessEnv;
  },
): Promise<WebLab> {
  const lab = createLab({ clients: opts.clients ?? 2, peers: opts.peers ?? 0 });
  const dir = tempDir('sesame-web-');
  const config = join(dir, 'sesame.yaml');
  let sshd: LabSshd | undefined;
  const destroy = () => {
    sshd?.stop();
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    writeFileSync(config, yaml(dir));
    sshd = await startSshd(lab, lab.server);
    if (opts.echo?.length) await startEchoServer(lab, lab.server, opts.echo);
    await opts.before?.(lab, dir);
    const daemon = await startDaemon(lab, lab.server, ['-c', config, '--state-dir', dir, '--log-format', 'json'], {
      env: opts.daemonEnv,
    });
    if (!(await eventually(() => opts.ready.test(daemon.output()), 10_000))) {
      throw new Error(`daemon sources did not start:\n${daemon.output()}`);
    }
    return {
      lab,
      dir,
      config,
      sshd,
      daemon,
      async curl(client, args) {
        const r = await lab.run(client, 'curl', ['-sS', '--max-time', '10', '-w', '\n%{http_code}', ...args], {
          timeoutMs: 15_000,
        });
        const lines = r.stdout.split('\n');
        const status = Number(lines.pop());
        return { status, body: lines.join('\n').trim() };
      },
      async connect(client, port, timeoutMs = 1000) {
        return (await connectFrom(lab, client, lab.server.v4, port, timeoutMs)).result;
      },
      destroy,
    };
  } catch (err) {
    destroy();
    throw err;
  }
}

export { startNginx } from '../../src/lab/nginx.js';
