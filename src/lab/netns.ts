import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

/**
 * A throwaway network: one server namespace with a bridge, and client namespaces plugged
 * into it, on 198.18.0.0/24 and fd00:5e5a::/64 (benchmark ranges), with no default route.
 * Used by `sesame demo`, the e2e tests and the benchmarks. Never touches the host's own
 * firewall or routes: everything lives in namespaces that `destroy()` removes.
 */

export const SERVER_V4 = '198.18.0.1';
export const SERVER_V6 = 'fd00:5e5a::1';
export const clientV4 = (i: number) => `198.18.0.${10 + i}`;
export const clientV6 = (i: number) => `fd00:5e5a::${(10 + i).toString(16)}`;
/** Peers: more server-like hosts on the same bridge (fleet nodes, a Redis), 198.18.0.2-9. */
export const MAX_PEERS = 8;
export const peerV4 = (i: number) => `198.18.0.${2 + i}`;
export const peerV6 = (i: number) => `fd00:5e5a::${(2 + i).toString(16)}`;

export interface Host {
  readonly ns: string;
  readonly v4: string;
  readonly v6: string;
}

export interface Lab {
  readonly server: Host;
  readonly clients: Host[];
  /** Server-like hosts next to `server` on its bridge (`createLab({peers})`); empty by default. */
  readonly peers: Host[];
  /** Runs a command inside a namespace and waits; never throws on exit code. */
  run(
    host: Host,
    cmd: string,
    args?: readonly string[],
    opts?: { input?: string; timeoutMs?: number },
  ): Promise<RunResult>;
  /** Starts a long-running process inside a namespace; killed by destroy(). */
  spawn(host: Host, cmd: string, args?: readonly string[], opts?: { env?: NodeJS.ProcessEnv }): ChildProcess;
  destroy(): void;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

const PREFIX = 'sesame-';
let counter = 0;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Several `ip` commands in `ns` in one process (a lab is built from dozens; each exec costs ~50 ms on a busy host). */
function ipBatch(ns: string, commands: readonly string[]): void {
  execFileSync('ip', ['-n', ns, '-batch', '-'], {
    input: `${commands.join('\n')}\n`,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
}

/** Removes namespaces left behind by lab runs whose process is gone (e.g. a killed test run). */
export function reapStaleLabs(): void {
  if (!existsSync('/run/netns')) return;
  for (const ns of readdirSync('/run/netns')) {
    const m = /^sesame-(\d+)-/.exec(ns);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    killNamespace(ns);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killNamespace(ns: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {}
    }
  } catch {}
  try {
    ip('netns', 'del', ns);
  } catch {}
}

/**
 * Builds the lab. `clients` client namespaces, each with one v4 and one v6 address; `peers`
 * more server-like namespaces on the same bridge (at most MAX_PEERS), e.g. fleet nodes.
 */
export function createLab(opts: { clients?: number; peers?: number; name?: string } = {}): Lab {
  if ((opts.peers ?? 0) > MAX_PEERS) throw new Error(`at most ${MAX_PEERS} peers, got ${opts.peers}`);
  reapStaleLabs();
  const id = `${PREFIX}${process.pid}-${opts.name ?? ''}${counter++}`;
  const server: Host = { ns: `${id}-s`, v4: SERVER_V4, v6: SERVER_V6 };
  const clients: Host[] = [];
  const peers: Host[] = [];
  const children = new Set<ChildProcess>();
  const namespaces: string[] = [];

  const destroy = () => {
    for (const c of children) {
      try {
        c.kill('SIGKILL');
      } catch {}
    }
    for (const ns of namespaces.reverse()) killNamespace(ns);
  };

  try {
    ip('netns', 'add', server.ns);
    namespaces.push(server.ns);
    sysctls(server.ns);
    ipBatch(server.ns, [
      'link set lo up',
      'link add br0 type bridge',
      `addr add ${SERVER_V4}/24 dev br0`,
      `addr add ${SERVER_V6}/64 dev br0 nodad`,
      'link set br0 up',
    ]);
    /** A namespace with one veth `eth0` plugged into the server's bridge as `port`. */
    const plugIn = (host: Host, port: string): Host => {
      ip('netns', 'add', host.ns);
      namespaces.push(host.ns);
      sysctls(host.ns);
      ip('link', 'add', 'eth0', 'netns', host.ns, 'type', 'veth', 'peer', 'name', port, 'netns', server.ns);
      ipBatch(server.ns, [`link set ${port} master br0`, `link set ${port} up`]);
      ipBatch(host.ns, [
        'link set lo up',
        `addr add ${host.v4}/24 dev eth0`,
        `addr add ${host.v6}/64 dev eth0 nodad`,
        'link set eth0 up',
      ]);
      return host;
    };
    for (let i = 0; i < (opts.clients ?? 1); i++) {
      clients.push(plugIn({ ns: `${id}-c${i}`, v4: clientV4(i), v6: clientV6(i) }, `p${i}`));
    }
    for (let i = 0; i < (opts.peers ?? 0); i++) {
      peers.push(plugIn({ ns: `${id}-p${i}`, v4: peerV4(i), v6: peerV6(i) }, `q${i}`));
    }
  } catch (err) {
    destroy();
    throw err;
  }

  return {
    server,
    clients,
    peers,
    destroy,
    spawn(host, cmd, args = [], o = {}) {
      const child = spawn('ip', ['netns', 'exec', host.ns, cmd, ...args], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, ...o.env },
      });
      children.add(child);
      child.on('exit', () => children.delete(child));
      return child;
    },
    run(host, cmd, args = [], o = {}) {
      const started = performance.now();
      return new Promise((resolve) => {
        const child = spawn('ip', ['netns', 'exec', host.ns, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
        children.add(child);
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => {
          stdout += d;
        });
        child.stderr.on('data', (d) => {
          stderr += d;
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          children.delete(child);
          resolve({ code, stdout, stderr, ms: performance.now() - started });
        });
        child.stdin.on('error', () => {});
        child.stdin.end(o.input ?? '');
      });
    },
  };
}

function sysctls(ns: string): void {
  // no DAD delay and no router solicitations: addresses are usable at once, nothing leaves
  // one sysctl run for all four: it sets each it can and goes on past one that fails
  const settings = [
    'net.ipv6.conf.all.accept_dad=0',
    'net.ipv6.conf.default.accept_dad=0',
    'net.ipv6.conf.all.accept_ra=0',
    'net.ipv6.conf.default.accept_ra=0',
  ];
  try {
    execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', ...settings], { stdio: 'ignore' });
  } catch {}
}
