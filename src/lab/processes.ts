import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Host, Lab } from './netns.js';
import type { ProbeResult } from './probe.js';

/** Paths of sesame's own scripts, so lab code can run them inside namespaces with this node. */
export const SESAME_BIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));
export const PROBE_BIN = fileURLToPath(new URL('./probe.js', import.meta.url));
export const ECHO_BIN = fileURLToPath(new URL('./echo-server.js', import.meta.url));

/** Runs `sesame ARGS` inside a namespace. */
export function sesame(lab: Lab, host: Host, args: readonly string[], opts?: { input?: string; timeoutMs?: number }) {
  return lab.run(host, process.execPath, [SESAME_BIN, ...args], opts);
}

/** One TCP connect attempt from `host`: open, refused (fast) or timeout (filtered). */
export async function connectFrom(
  lab: Lab,
  host: Host,
  target: string,
  port: number,
  timeoutMs = 1500,
): Promise<{ result: ProbeResult; ms: number }> {
  const r = await lab.run(host, process.execPath, [PROBE_BIN, target, String(port), String(timeoutMs)]);
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`probe failed: ${r.stderr || r.stdout}`);
  }
}

/**
 * Waits until `child` prints a line matching `pattern` (stdout or stderr). The default is
 * generous: a daemon loading its table takes a second on a quiet lab and far more on a busy
 * one, and a test that times out there says nothing about sesame.
 */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (d: Buffer) => {
      buffer += d.toString();
      const line = buffer.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) {
        cleanup();
        resolve(line);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`process exited (${code}) before printing ${pattern}:\n${buffer}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}:\n${buffer}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', onExit);
  });
}

/** Starts the lab's stand-in TCP service on `ports` in `host`. */
export async function startEchoServer(lab: Lab, host: Host, ports: readonly number[]): Promise<ChildProcess> {
  const child = lab.spawn(host, process.execPath, [ECHO_BIN, ...ports.map(String)]);
  await waitForLine(child, /^ready$/);
  return child;
}

/**
 * The node options sesame.service starts the daemon with (packaging/sesame.service, checked by
 * test/unit/daemon/daemon-node-flags.test.ts), so tests and the bench run the daemon as installed.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/**
 * Starts `sesame serve` in `host` and waits until its doors are loaded. `bin`: another build
 * of the command (the bench passes the bundle), default the compiled tree's.
 */
export async function startDaemon(
  lab: Lab,
  host: Host,
  args: readonly string[],
  opts: {
    readonly bin?: string;
    /** more node options (the bench tries --lite-mode) */ readonly nodeFlags?: readonly string[];
    /** more environment (a lab CA in NODE_EXTRA_CA_CERTS) */ readonly env?: NodeJS.ProcessEnv;
  } = {},
): Promise<ChildProcess & { output: () => string }> {
  const child = lab.spawn(
    host,
    process.execPath,
    [...DAEMON_NODE_FLAGS, ...(opts.nodeFlags ?? []), opts.bin ?? SESAME_BIN, 'serve', ...args],
    { env: opts.env },
  ) as ChildProcess & {
    output: () => string;
  };
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  child.output = () => out;
  await waitForLine(child, /\bstarted\b/);
  return child;
}
