import { spawn } from 'node:child_process';

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a program with optional stdin; `timeoutMs` kills it (SIGTERM) when it runs longer.
 * The one seam between firewall code and processes.
 */
export type Exec = (
  file: string,
  args: readonly string[],
  input?: string,
  opts?: { timeoutMs?: number },
) => Promise<ExecResult>;

export const execFile: Exec = (file, args, input, opts = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.on('error', () => {}); // the program may exit before reading stdin
    child.stdin.end(input ?? '');
  });

/** A firewall command that failed. Keeps the command, exit code and stderr for the user. */
export class FirewallError extends Error {
  override readonly name = 'FirewallError';
  readonly code = 'E_FIREWALL';
  constructor(
    readonly command: string,
    readonly exitCode: number,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(`${command} failed (exit ${exitCode}): ${stderr.trim() || 'no error output'}`, options);
  }
}
