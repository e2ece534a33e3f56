import { spawn } from 'node:child_process';
import { SesameError } from '../core/sesame-error.js';

export interface ExecResult {
  /** Exit code; null when the program was ended by a signal. */
  readonly code: number | null;
  /** The signal that ended the program (a crash: SIGSEGV, SIGABRT; the OOM killer or a timeout: SIGKILL, SIGTERM). */
  readonly signal?: NodeJS.Signals | null;
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
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.on('error', () => {}); // the program may exit before reading stdin
    child.stdin.end(input ?? '');
  });

/**
 * A firewall command that failed: keeps the command, exit code (or the signal that ended it)
 * and stderr, and says what to do when the program crashed instead of refusing.
 */
export class FirewallError extends SesameError {
  static override readonly code = 'E_FIREWALL';
  override readonly name = 'FirewallError';
  readonly signal: NodeJS.Signals | null;
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    options: { cause?: unknown; signal?: NodeJS.Signals | null; hint?: string } = {},
  ) {
    super(firewallErrorMessage(command, exitCode, stderr, options.signal ?? null, options.hint), options);
    this.signal = options.signal ?? null;
  }

  /** False when the program never ran (not installed, not executable): no exit code, no signal. */
  get ran(): boolean {
    return this.exitCode !== null || this.signal !== null;
  }
}

function firewallErrorMessage(
  command: string,
  exitCode: number | null,
  stderr: string,
  signal: NodeJS.Signals | null,
  hint?: string,
): string {
  const output = stderr.trim();
  if (signal) {
    return [
      `${command} was killed by signal ${signal} (no exit code)${output ? `: ${output}` : ''}.`,
      'It crashed or was killed (out of memory, a timeout) instead of refusing the input;',
      'nft applies a script in one transaction, so the kernel keeps the rules it had.',
      hint ?? '',
    ]
      .filter(Boolean)
      .join(' ');
  }
  const status = exitCode === null ? '' : ` (exit ${exitCode})`;
  return `${command} failed${status}: ${output || 'no error output'}${hint ? ` ${hint}` : ''}`;
}
