import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Host, Lab, RunResult } from './netns.js';
import { waitForLine } from './processes.js';

/** A real OpenSSH server running in a lab namespace, with throwaway keys. */
export interface LabSshd {
  readonly port: number;
  /** Temp folder holding the config, host key, client key and authorized_keys. */
  readonly dir: string;
  readonly process: ChildProcess;
  /**
   * Runs `ssh` from `client` to `target` (default: the server's v4 address) with key auth,
   * BatchMode and no host-key checks, executing `command` (default `echo sesame-ok`).
   * `ok` is true when the remote command ran and printed its output; `ms` is the wall time.
   */
  ssh(client: Host, opts?: SshOptions): Promise<RunResult & { ok: boolean }>;
  /** Kills sshd and removes the temp folder (destroy() of the lab kills it too). */
  stop(): void;
}

export interface SshOptions {
  target?: string;
  command?: string;
  /** ssh's ConnectTimeout in seconds (default 15). */
  connectTimeoutS?: number;
  /** Extra `-o` options, e.g. `['ConnectionAttempts=1']`. */
  options?: readonly string[];
  /** Hard kill after this long (default: connect timeout + 10 s). */
  timeoutMs?: number;
}

const OK_MARK = 'sesame-ok';

/**
 * Starts `/usr/sbin/sshd -D -e` in `host` on `port` (default 22), listening on v4 and v6,
 * with a fresh ed25519 host key and one client key in a temp folder, and waits until it
 * listens. Only the lab's client key can log in (as root: tests run as root).
 *
 * ```ts
 * const sshd = await startSshd(lab, lab.server);
 * try { const r = await sshd.ssh(lab.clients[0]); assert.ok(r.ok); } finally { sshd.stop(); }
 * ```
 */
export async function startSshd(lab: Lab, host: Host, opts: { port?: number } = {}): Promise<LabSshd> {
  const port = opts.port ?? 22;
  const dir = mkdtempSync(join(tmpdir(), 'sesame-sshd-'));
  // sshd's compiled-in privilege separation directory; the package creates it at boot only
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const keygen = (file: string) =>
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file], { stdio: 'ignore' });
  keygen(join(dir, 'host_key'));
  keygen(join(dir, 'client_key'));
  execFileSync('cp', [join(dir, 'client_key.pub'), join(dir, 'authorized_keys')]);
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 0.0.0.0',
      'ListenAddress ::',
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // the temp folder is world-readable /tmp; key ownership checks would refuse it
      'StrictModes no',
      'UseDNS no',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  const child = lab.spawn(host, '/usr/sbin/sshd', ['-D', '-e', '-f', config]);
  const stop = () => {
    try {
      child.kill('SIGKILL');
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForLine(child, /Server listening on/);
  } catch (err) {
    stop();
    throw err;
  }

  return {
    port,
    dir,
    process: child,
    stop,
    async ssh(client, o = {}) {
      const connectTimeoutS = o.connectTimeoutS ?? 15;
      const args = [
        '-i',
        join(dir, 'client_key'),
        '-p',
        String(port),
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'LogLevel=ERROR',
        '-o',
        `ConnectTimeout=${connectTimeoutS}`,
        ...(o.options ?? []).flatMap((x) => ['-o', x]),
        `root@${o.target ?? lab.server.v4}`,
        o.command ?? `echo ${OK_MARK}`,
      ];
      const r = await lab.run(client, 'ssh', args, {
        timeoutMs: o.timeoutMs ?? connectTimeoutS * 1000 + 10_000,
      });
      const ok = r.code === 0 && (o.command !== undefined || r.stdout.includes(OK_MARK));
      return { ...r, ok };
    },
  };
}
