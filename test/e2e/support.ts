import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Why an e2e test can't run here, or false when it can. Tests pass this as `skip`, so a
 * missing tool shows up as "skipped: needs nmap (apt install nmap)", never as a pass.
 */
export function e2eSkip(tools: Record<string, string> = {}): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and nftables)';
  const needed: Record<string, string> = { ip: 'iproute2', nft: 'nftables', ...tools };
  for (const [tool, pkg] of Object.entries(needed)) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool} || test -x /usr/sbin/${tool}`], { stdio: 'ignore' });
    } catch {
      return `needs ${tool} (apt install ${pkg})`;
    }
  }
  return false;
}

export const tempDir = (name = 'sesame-test-') => mkdtempSync(join(tmpdir(), name));

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns truthy or `timeoutMs` passes; returns the last value. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 5000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await fn();
  while (!last && Date.now() < deadline) {
    await sleep(everyMs);
    last = await fn();
  }
  return last;
}
