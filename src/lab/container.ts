import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from './netns.js';

/**
 * A Debian container booted by its own systemd (systemd-nspawn --boot), never the host's: the
 * host needs no running systemd, no machined and no D-Bus (`--register=no --keep-unit`).
 *
 * - the root is an overlay: the cached debootstrap root (src/lab/debian-root.ts) below, the
 *   container's own `upper` folder above, mounted in a private mount namespace of the nspawn
 *   process, so the cache stays pristine, nothing is mounted on the host, and a second boot
 *   with the same `upper` finds what the first installed (a reboot);
 * - its network is a namespace the caller made (a lab namespace), so lab clients reach it;
 * - its processes run in a cgroup of their own (one per container), removed by stop().
 */
export interface Container {
  readonly name: string;
  /** The container's PID 1 (its systemd) as the host sees it. */
  readonly leader: number;
  /** Runs a command inside the container (all its namespaces); never throws on exit code. */
  exec(cmd: string, args?: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** What systemd-nspawn printed so far (boot problems). */
  output(): string;
  /** Powers the container off (bounded), kills what is left, removes its cgroups. Idempotent. */
  stop(): Promise<void>;
}

export interface BootOptions {
  /** Lower (read-only) root: the cached Debian root. */
  readonly root: string;
  /** Folder for the overlay's upper and work dirs; reuse it to boot the same system again. */
  readonly state: string;
  /** A namespace in /run/netns for the container's network. */
  readonly netns: string;
  /** Machine name and host name: letters, digits and `-`. */
  readonly name: string;
  /** Host folders bound read-only into the container: [host, container]. */
  readonly bindReadOnly?: readonly (readonly [string, string])[];
  /** How long `systemctl is-system-running --wait` may take (default 90 s). */
  readonly bootTimeoutMs?: number;
}

const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** cgroup hierarchies to give the container a group in: hybrid (v1 name=systemd + unified) or v2. */
function cgroupRoots(): string[] {
  const hybrid = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'].filter((d) =>
    existsSync(join(d, 'cgroup.procs')),
  );
  if (hybrid.length > 0) return hybrid;
  return existsSync('/sys/fs/cgroup/cgroup.controllers') ? ['/sys/fs/cgroup'] : [];
}

/** Every process in `group` and its sub-groups. */
function cgroupPids(group: string): number[] {
  const pids: number[] = [];
  const walk = (dir: string) => {
    try {
      for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.push(Number(line));
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
    } catch {}
  };
  walk(group);
  return pids;
}

/** Removes `group` and its sub-groups, deepest first (a cgroup goes only when empty). */
function removeCgroup(group: string): void {
  if (!existsSync(group)) return;
  for (const e of readdirSync(group, { withFileTypes: true })) if (e.isDirectory()) removeCgroup(join(group, e.name));
  try {
    rmdirSync(group);
  } catch {}
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** The child of `pid` that runs `comm`, polled until `timeoutMs`. */
async function childRunning(pid: number, comm: string, timeoutMs: number, alive: () => boolean): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && alive()) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean)) {
        if (readFileSync(`/proc/${c}/comm`, 'utf8').trim() === comm) return Number(c);
      }
    } catch {}
    await sleep(50);
  }
  throw new Error(`no ${comm} process under systemd-nspawn (pid ${pid}) within ${timeoutMs} ms`);
}

/**
 * Boots the container and waits until its systemd reports the boot finished (`running`, or
 * `degraded` when a unit failed: the caller asserts which). Throws with nspawn's output when
 * the container doesn't come up; nothing is left running then.
 */
export async function bootContainer(opts: BootOptions): Promise<Container> {
  const upper = join(opts.state, 'upper');
  const work = join(opts.state, 'work');
  const merged = join(opts.state, 'merged');
  for (const d of [upper, work, merged]) mkdirSync(d, { recursive: true });
  const groups = cgroupRoots().map((r) => join(r, `sesame-lab-${opts.name}`));
  for (const g of groups) mkdirSync(g, { recursive: true });
  const nspawn = [
    '--quiet',
    `--directory=${merged}`,
    `--machine=${opts.name}`,
    '--boot',
    // no machined and no scope unit: the host's systemd (if any) is not involved
    '--register=no',
    '--keep-unit',
    `--network-namespace-path=/run/netns/${opts.netns}`,
    // nspawn keeps CAP_NET_ADMIN only for networks it makes itself; a host's root has it
    '--capability=CAP_NET_ADMIN',
    '--console=pipe',
    ...(opts.bindReadOnly ?? []).map(([host, inside]) => `--bind-ro=${host}:${inside}`),
  ];
  // `unshare --mount`: the overlay exists only in the namespace nspawn runs in
  const script = `set -e
n=$1; shift
while [ "$n" -gt 0 ]; do echo $$ > "$1/cgroup.procs"; shift; n=$((n-1)); done
mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4"
shift 4
exec systemd-nspawn "$@"`;
  const child = spawn(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      script,
      'sh',
      String(groups.length),
      ...groups,
      opts.root,
      upper,
      work,
      merged,
      ...nspawn,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const alive = () => child.exitCode === null && child.signalCode === null;

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // SIGTERM asks nspawn to power the container off (its systemd stops every unit)
    if (alive()) child.kill('SIGTERM');
    if (!(await exited(child, 20_000))) {
      for (const g of groups)
        for (const pid of cgroupPids(g))
          try {
            process.kill(pid, 'SIGKILL');
          } catch {}
      child.kill('SIGKILL');
      await exited(child, 5_000);
    }
    for (let i = 0; i < 20 && groups.some((g) => cgroupPids(g).length > 0); i++) await sleep(100);
    for (const g of groups) removeCgroup(g);
    // nspawn's per-machine folder for mounts it propagates into the container
    const propagate = `/run/systemd/nspawn/propagate/${opts.name}`;
    if (existsSync(propagate) && statSync(propagate).isDirectory()) rmSync(propagate, { recursive: true, force: true });
  };

  const exec: Container['exec'] = (cmd, args = [], o = {}) => {
    const started = performance.now();
    return new Promise((resolve) => {
      const p = spawn('nsenter', [`--target=${leader}`, '--all', '--', cmd, ...args], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { PATH: CONTAINER_PATH, LANG: 'C.UTF-8', SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0', TERM: 'dumb' },
      });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => p.kill('SIGKILL'), o.timeoutMs ?? 60_000);
      p.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr, ms: performance.now() - started });
      });
      p.stdin.on('error', () => {});
      p.stdin.end(o.input ?? '');
    });
  };

  let leader = 0;
  try {
    if (child.pid === undefined) throw new Error('unshare did not start');
    // unshare and sh exec in place: the spawned pid becomes systemd-nspawn's
    leader = await childRunning(child.pid, 'systemd', 30_000, alive);
    // systemctl needs systemd's private socket, which it makes a moment after it starts
    const socket = `/proc/${leader}/root/run/systemd/private`;
    for (let i = 0; i < 300 && alive() && !existsSync(socket); i++) await sleep(50);
    const boot = await exec('systemctl', ['is-system-running', '--wait'], { timeoutMs: opts.bootTimeoutMs ?? 90_000 });
    const state = boot.stdout.trim();
    if (state !== 'running' && state !== 'degraded')
      throw new Error(`the container's systemd reports "${state}" ${boot.stderr}`);
  } catch (err) {
    await stop();
    throw new Error(`container ${opts.name} did not boot: ${(err as Error).message}\nsystemd-nspawn said:\n${out}`);
  }
  return { name: opts.name, leader, exec, output: () => out, stop };
}
