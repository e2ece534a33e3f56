import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Host, Lab } from './netns.js';
import { waitForLine } from './processes.js';

export const REDIS_PORT = 6379;

/**
 * A throwaway `redis-server` inside a lab namespace: bound to that host's lab address only,
 * a password (`requirepass`), no persistence (`--save ''`, no AOF) and its working folder in
 * a temporary directory, so nothing reaches the host. Killed by `stop()` or `lab.destroy()`.
 */
export async function startRedis(
  lab: Lab,
  host: Host,
  password: string,
): Promise<{ process: ChildProcess; url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-redis-'));
  const child = lab.spawn(host, 'redis-server', [
    '--bind',
    host.v4,
    '--port',
    String(REDIS_PORT),
    '--requirepass',
    password,
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--protected-mode',
    'yes',
    '--daemonize',
    'no',
    '--loglevel',
    'notice',
  ]);
  try {
    await waitForLine(child, /Ready to accept connections/, 10_000);
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    process: child,
    url: `redis://${host.v4}:${REDIS_PORT}/0`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
