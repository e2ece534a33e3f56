import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpsSite } from '../../src/lab/https-site.js';
import { createLab } from '../../src/lab/netns.js';
import { SESAME_BIN, startDaemon } from '../../src/lab/processes.js';
import { startSshd } from '../../src/lab/sshd.js';
import { bundledSesame } from '../bundled-sesame.js';
import type { BenchContext, BenchResult } from '../result.js';
import { percentile, round } from '../stats.js';

/**
 * Shared-port knock: time of a full ssh login (BatchMode, key auth, `true`) straight to
 * sshd, through a plain `nc` ProxyCommand, through 443 with the iptables recipe's ProxyCommand
 * (`nc` sends the secret, then `nc` relays) and with `sesame knock --proxy` as installed (the
 * bundle), all on the same door. Then the ProxyCommand's start-up alone: from spawn to its
 * first connection arriving at a listener on loopback. sesame only: knockd has no shared port.
 */
export async function sharedLogin(ctx: BenchContext): Promise<BenchResult[]> {
  // each login is 3 processes on each side (ssh, sshd, the ProxyCommand): --quick makes 2 a way
  const n = ctx.quick ? 2 : 20;
  ctx.log(`shared-login: sesame, ${n} logins per way`);
  const bundle = await bundledSesame();
  const lab = createLab({ clients: 1, name: 'bsh' });
  const dir = mkdtempSync(join(tmpdir(), 'sesame-bench-shared-'));
  const [client] = lab.clients;
  try {
    const sshd = await startSshd(lab, lab.server);
    await startHttpsSite(lab, lab.server, client);
    const secret = join(dir, 'secret');
    writeFileSync(secret, 'bench-shared-secret-0123456789\n', { mode: 0o600 });
    // the ways compared are taken in turns (login 1 of each, then 2 of each...), so a busy host
    // weighs on all alike; direct and nc before the door is loaded (it drops direct 22)
    const logins = async (ways: string[][]) => {
      const ms = ways.map(() => [] as number[]);
      for (let i = 0; i < n; i++) {
        for (const [w, options] of ways.entries()) {
          const r = await sshd.ssh(client, { options });
          if (!r.ok) throw new Error(`ssh failed (${options.join(' ') || 'direct'}): ${r.stderr}`);
          ms[w].push(r.ms);
        }
      }
      return ms.map((m) => ({ p50_ms: round(percentile(m, 50), 1), max_ms: round(Math.max(...m), 1) }));
    };
    const [direct, nc] = await logins([[], ['ProxyCommand=nc %h %p']]);
    writeFileSync(
      join(dir, 'sesame.yaml'),
      `doors:\n  ssh443:\n    shared: { port: 443, secret: ${secret} }\n    for: 300s\n`,
    );
    await startDaemon(lab, lab.server, ['-c', join(dir, 'sesame.yaml'), '--state-dir', dir], { bin: bundle });
    // the recipe's client: the secret as the first bytes (the kernel resets that connection),
    // then a plain relay whose connection the kernel redirects to 22
    // (ssh runs a ProxyCommand as `exec COMMAND`: the recipe needs its own shell for two commands)
    const [ncRecipe, shared] = await logins([
      [`ProxyCommand=sh -c 'nc -w 1 %h 443 < ${secret}; exec nc %h 443'`],
      [`ProxyCommand=${process.execPath} ${bundle} knock --proxy %h 443 --secret-file ${secret}`],
    ]);
    const proxyArgs = (bin: string) => [bin, 'knock', '--proxy', '127.0.0.1', 'PORT', '--secret-file', secret];
    const startup = await startupTimes(n, {
      bundle: [process.execPath, ...proxyArgs(bundle)],
      tree: [process.execPath, ...proxyArgs(SESAME_BIN)],
      nc: ['nc', '127.0.0.1', 'PORT'],
      node: [process.execPath, '-e', "require('net').connect(PORT, '127.0.0.1')"],
    });
    return [
      {
        scenario: 'shared-login',
        tool: 'sesame',
        figures: {
          logins: n,
          direct_p50_ms: direct.p50_ms,
          nc_proxy_p50_ms: nc.p50_ms,
          nc_recipe_443_p50_ms: ncRecipe.p50_ms,
          shared_443_p50_ms: shared.p50_ms,
          shared_443_max_ms: shared.max_ms,
          proxy_start_p50_ms: startup.bundle,
          proxy_start_tree_p50_ms: startup.tree,
          nc_start_p50_ms: startup.nc,
          node_start_p50_ms: startup.node,
        },
        notes: [
          "ssh to 22 directly, through `ProxyCommand nc %h %p`, through 443 with the iptables recipe (`sh -c 'nc -w 1 %h 443 < SECRET; exec nc %h 443'`) and with `sesame knock --proxy` (the bundle, as installed)",
          `start-up: spawn → first connection at a loopback listener, p50 of ${n} each, interleaved: sesame knock --proxy from the bundle and from the compiled tree, nc, and \`node -e\` connecting (node's own floor)`,
        ],
      },
    ];
  } finally {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Time from spawning each command to its TCP connection arriving at a listener on 127.0.0.1
 * (`PORT` in the arguments is replaced by its port); p50 of `n` runs each, taken in turns so
 * a busy host weighs on all alike. Each process is killed once it connected.
 */
async function startupTimes<K extends string>(n: number, commands: Record<K, string[]>): Promise<Record<K, number>> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = String((server.address() as { port: number }).port);
  // a late second connection (a proxy's relay attempt before it was killed) is just closed
  server.on('connection', (socket) => socket.destroy());
  const times = Object.fromEntries(Object.keys(commands).map((k) => [k, [] as number[]])) as Record<K, number[]>;
  try {
    for (let i = 0; i < n; i++) {
      for (const [name, [cmd, ...args]] of Object.entries(commands) as [K, string[]][]) {
        const started = performance.now();
        const connected = new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${name}: no connection within 10 s`)), 10_000);
          server.once('connection', () => {
            clearTimeout(timer);
            resolve(performance.now() - started);
          });
        });
        const child = spawn(
          cmd,
          args.map((a) => a.replace('PORT', port)),
          { stdio: ['pipe', 'ignore', 'ignore'] },
        );
        const exited = new Promise((resolve) => child.once('exit', resolve));
        try {
          times[name].push(await connected);
        } finally {
          child.kill('SIGKILL');
          await exited;
        }
      }
    }
  } finally {
    server.close();
  }
  return Object.fromEntries(
    Object.entries(times).map(([k, v]) => [k, round(percentile(v as number[], 50), 1)]),
  ) as Record<K, number>;
}
