import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLab, type Host, type Lab } from '../../src/lab/netns.js';
import { connectFrom, sesame, startDaemon } from '../../src/lab/processes.js';
import { startRedis } from '../../src/lab/redis-server.js';
import { type LabSshd, startSshd } from '../../src/lab/sshd.js';
import { eventually, tempDir } from './support.js';
import { makeKeys } from './spa-lab.js';
import { writeSecret } from './web-lab.js';

export const REDIS_PASSWORD = 'lab-redis-password-7f3a9c';
export const CLUSTER = 'lab';

export interface FleetNodeLab {
  readonly name: string;
  readonly host: Host;
  readonly dir: string;
  readonly config: string;
  daemon?: ChildProcess & { output: () => string };
}

/**
 * Three fleet nodes (A = the lab server, B and C = peers) each with `sesame serve`, sshd and
 * a small HTTP server that answers its own name; a fourth namespace with `redis-server`
 * (bound to its lab address, password set, no persistence); clients that reach all three.
 */
export interface FleetLab {
  readonly lab: Lab;
  readonly dir: string;
  readonly nodes: readonly FleetNodeLab[];
  readonly redisHost: Host;
  readonly fleetKey: Buffer;
  readonly sshd: LabSshd[];
  startRedis(): Promise<void>;
  /** SIGKILLs redis-server. */
  killRedis(): Promise<void>;
  startNode(node: FleetNodeLab): Promise<void>;
  /** Stops a node's daemon (SIGKILL) and removes its table: as if the node were new. */
  wipeNode(node: FleetNodeLab): Promise<void>;
  /** SIGKILLs a node's daemon and leaves its table: the kernel keeps its grants, as after a crash. */
  killNode(node: FleetNodeLab): Promise<void>;
  /**
   * Cuts the node off from Redis silently: a table of its own in the node's namespace drops
   * every packet to Redis (no reset, as a partition); `heal` removes it.
   */
  cutOff(node: FleetNodeLab): Promise<void>;
  heal(node: FleetNodeLab): Promise<void>;
  /** `open`, `refused` or `timeout` for a new TCP connection from `client` to `node` (over IPv6 with family 6). */
  connect(client: Host, node: FleetNodeLab, port: number, family?: 4 | 6): Promise<string>;
  /** GET / on the node's web server through curl; the body names the node that answered. */
  curl(client: Host, node: FleetNodeLab, port?: number): Promise<string>;
  knock(client: Host, node: FleetNodeLab, ports: readonly number[], family?: 4 | 6): Promise<void>;
  /** `redis-cli` in the Redis namespace, authenticated. */
  redisCli(args: readonly string[]): Promise<string>;
  /** The timeout of `address` in the node's grant set for `door`, ms, or null when absent. */
  grantTimeout(node: FleetNodeLab, door: string, address: string): Promise<number | null>;
  destroy(): void;
}

/**
 * `doors` is the doors part of every node's config; `fleet(name)` adds lines to a node's
 * `fleet:` block (e.g. `replay: shared-only` on one node).
 */
export async function fleetLab(
  doors: string,
  opts: { clients?: number; fleet?: (node: string) => string; redisUrl?: (node: string) => string | undefined } = {},
): Promise<FleetLab> {
  const lab = createLab({ clients: opts.clients ?? 2, peers: 3, name: 'fleet' });
  const dir = tempDir('sesame-fleet-');
  const hosts = [lab.server, lab.peers[0], lab.peers[1]];
  const redisHost = lab.peers[2];
  const sshd: LabSshd[] = [];
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  const destroy = () => {
    for (const s of sshd) s.stop();
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    writeFileSync(join(dir, 'redis.pass'), `${REDIS_PASSWORD}\n`, { mode: 0o600 });
    const fleetKey = writeSecret(dir, 'fleet').key;
    writeSecret(dir, 'door');
    makeKeys(dir, 'spa');
    const nodes: FleetNodeLab[] = ['a', 'b', 'c'].map((name, i) => {
      const nodeDir = join(dir, name);
      mkdirSync(nodeDir);
      const config = join(nodeDir, 'sesame.yaml');
      writeFileSync(
        config,
        `fleet:
  redis: ${opts.redisUrl?.(name) ?? `redis://${redisHost.v4}:6379/0`}
  name: ${CLUSTER}
  node: ${name}
  password_file: ../redis.pass
  key: ../fleet.key
${opts.fleet?.(name) ?? ''}http:
  listen: ${hosts[i].v4}:8443
  rate_limit: false
spa:
  listen: ${hosts[i].v4}
  udp: 62201
${doors}`,
      );
      return { name, host: hosts[i], dir: nodeDir, config };
    });
    for (const n of nodes) {
      sshd.push(await startSshd(lab, n.host));
      const web = lab.spawn(n.host, process.execPath, [
        '-e',
        `const h=require('http');for(const p of [80,8080,8090])h.createServer((q,s)=>s.end('node-${n.name}')).listen(p,'::')`,
      ]);
      await eventually(
        async () => (await connectFrom(lab, n.host, '127.0.0.1', 8090, 500)).result === 'open' || web.exitCode !== null,
        10_000,
      );
    }
    const self: FleetLab = {
      lab,
      dir,
      nodes,
      redisHost,
      fleetKey,
      sshd,
      async startRedis() {
        redis = await startRedis(lab, redisHost, REDIS_PASSWORD);
      },
      async killRedis() {
        await redis?.stop();
        redis = undefined;
      },
      async startNode(node) {
        node.daemon = await startDaemon(lab, node.host, [
          '-c',
          node.config,
          '--state-dir',
          node.dir,
          '--log-format',
          'json',
        ]);
      },
      async wipeNode(node) {
        if (node.daemon && node.daemon.exitCode === null) {
          const exited = new Promise((r) => node.daemon?.once('exit', r));
          node.daemon.kill('SIGKILL');
          await exited;
        }
        await lab.run(node.host, 'nft', ['delete', 'table', 'inet', 'sesame']);
      },
      async killNode(node) {
        if (node.daemon && node.daemon.exitCode === null) {
          const exited = new Promise((r) => node.daemon?.once('exit', r));
          node.daemon.kill('SIGKILL');
          await exited;
        }
      },
      async cutOff(node) {
        const rule = `table inet cutoff {\n chain out {\n  type filter hook output priority 0;\n  ip daddr ${redisHost.v4} drop\n }\n}\n`;
        const r = await lab.run(node.host, 'nft', ['-f', '-'], { input: rule });
        if (r.code !== 0) throw new Error(`nft cutoff: ${r.stderr}`);
      },
      async heal(node) {
        await lab.run(node.host, 'nft', ['delete', 'table', 'inet', 'cutoff']);
      },
      async connect(client, node, port, family = 4) {
        return (await connectFrom(lab, client, family === 6 ? node.host.v6 : node.host.v4, port, 1000)).result;
      },
      async curl(client, node, port = 80) {
        const r = await lab.run(client, 'curl', ['-sS', '--max-time', '2', `http://${node.host.v4}:${port}/`], {
          timeoutMs: 5000,
        });
        return r.code === 0 ? r.stdout.trim() : `curl failed (${r.code})`;
      },
      async knock(client, node, ports, family = 4) {
        const target = family === 6 ? ['-6', node.host.v6] : [node.host.v4];
        const r = await sesame(lab, client, ['knock', ...target, ...ports.map(String)]);
        if (r.code !== 0) throw new Error(`knock failed: ${r.stderr}`);
      },
      async redisCli(args) {
        const r = await lab.run(redisHost, 'redis-cli', [
          '-h',
          redisHost.v4,
          '-a',
          REDIS_PASSWORD,
          '--no-auth-warning',
          ...args,
        ]);
        if (r.code !== 0) throw new Error(`redis-cli ${args[0]} failed: ${r.stderr}`);
        return r.stdout.trim();
      },
      async grantTimeout(node, door, address) {
        const set = `${door}_open_${address.includes(':') ? 6 : 4}`;
        const r = await lab.run(node.host, 'nft', ['-j', 'list', 'set', 'inet', 'sesame', set]);
        if (r.code !== 0) return null;
        for (const item of JSON.parse(r.stdout).nftables ?? []) {
          for (const e of item.set?.elem ?? []) {
            const elem = typeof e === 'object' && e.elem ? e.elem : { val: e };
            if (elem.val === address) return (elem.timeout ?? item.set.timeout ?? 0) * 1000;
          }
        }
        return null;
      },
      destroy,
    };
    return self;
  } catch (err) {
    destroy();
    throw err;
  }
}
