import { rmSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpsSite } from '../../src/lab/https-site.js';
import { createLab } from '../../src/lab/netns.js';
import { SESAME_BIN, startDaemon } from '../../src/lab/processes.js';
import { startSshd } from '../../src/lab/sshd.js';
import type { BenchContext, BenchResult } from '../result.js';
import { percentile, round } from '../stats.js';

/**
 * Shared-port knock: time of a full ssh login (BatchMode, key auth, `true`) straight to
 * sshd, through a plain `nc` ProxyCommand, and through 443 with `sesame knock --proxy`
 * (secret, reset, second connection redirected to 22, relay). sesame only: knockd has no
 * shared-port mode.
 */
export async function sharedLogin(ctx: BenchContext): Promise<BenchResult[]> {
  // each login is 3 processes on each side (ssh, sshd, the ProxyCommand): --quick makes 2 a way
  const n = ctx.quick ? 2 : 20;
  ctx.log(`shared-login: sesame, ${n} logins per way`);
  const lab = createLab({ clients: 1, name: 'bsh' });
  const dir = mkdtempSync(join(tmpdir(), 'sesame-bench-shared-'));
  const [client] = lab.clients;
  try {
    const sshd = await startSshd(lab, lab.server);
    await startHttpsSite(lab, lab.server, client);
    const secret = join(dir, 'secret');
    writeFileSync(secret, 'bench-shared-secret-0123456789\n', { mode: 0o600 });
    const login = async (options: string[]) => {
      const ms: number[] = [];
      for (let i = 0; i < n; i++) {
        const r = await sshd.ssh(client, { options });
        if (!r.ok) throw new Error(`ssh failed: ${r.stderr}`);
        ms.push(r.ms);
      }
      return { p50_ms: round(percentile(ms, 50), 1), max_ms: round(Math.max(...ms), 1) };
    };
    const direct = await login([]);
    const nc = await login(['ProxyCommand=nc %h %p']);
    writeFileSync(
      join(dir, 'sesame.yaml'),
      `doors:\n  ssh443:\n    shared: { port: 443, secret: ${secret} }\n    for: 300s\n`,
    );
    await startDaemon(lab, lab.server, ['-c', join(dir, 'sesame.yaml'), '--state-dir', dir]);
    const shared = await login([
      `ProxyCommand=${process.execPath} ${SESAME_BIN} knock --proxy %h 443 --secret-file ${secret}`,
    ]);
    return [
      {
        scenario: 'shared-login',
        tool: 'sesame',
        figures: {
          logins: n,
          direct_p50_ms: direct.p50_ms,
          nc_proxy_p50_ms: nc.p50_ms,
          shared_443_p50_ms: shared.p50_ms,
          shared_443_max_ms: shared.max_ms,
        },
        notes: ['ssh to 22 directly, through `ProxyCommand nc`, and through 443 with `sesame knock --proxy`'],
      },
    ];
  } finally {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
