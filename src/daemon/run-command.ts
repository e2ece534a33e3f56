import { spawn } from 'node:child_process';
import { isIP } from 'node:net';

/** Substitutes knockd's `%IP%` with the knocker's address (validated, so safe in a shell line). */
export function expandCommand(template: string, address: string): string {
  if (!isIP(address)) throw new Error(`refusing to run a command for non-address ${JSON.stringify(address)}`);
  return template.replaceAll('%IP%', address);
}

export interface CommandResult {
  readonly code: number | null;
  readonly output: string;
  readonly timedOut: boolean;
}

/** Runs a door command with /bin/sh, as knockd does; output is captured for the log. */
export function runShell(command: string, timeoutMs = 30_000): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (d: Buffer) => {
      if (output.length < 4096) output += d.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, output: String(err), timedOut });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.trim(), timedOut });
    });
  });
}
