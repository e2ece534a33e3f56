import { type ChildProcess, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../src/lab/netns.js';
import { startDaemon, waitForLine } from '../src/lab/processes.js';

/**
 * The two tools under test, started on the identical door in a lab's server namespace:
 * knock 6000,7000,8000,9000 (tcp SYN) within 10 s opens tcp/80 to the knocker for 60 s.
 */

export type ToolName = 'sesame' | 'knockd';
export const TOOLS: readonly ToolName[] = ['sesame', 'knockd'];

export const DOOR = { knock: [6000, 7000, 8000, 9000], open: 80, withinS: 10, forS: 60 } as const;
/** An unprotected port on the same server: the RTT floor and a sanity check. */
export const OPEN_PORT = 81;
/** The footprint door: one knock port, so every SYN to it is an "open" event. */
export const PING_PORT = 5000;

export interface DoorOptions {
  /** Adds the 1-port footprint door (PING_PORT opens OPEN_PORT for 2 s). */
  readonly pingDoor?: boolean;
  /** sesame's `set_size` (the bound of every kernel set); default 65536. */
  readonly setSize?: number;
  /** The door's `within` in seconds, instead of DOOR.withinS. */
  readonly withinS?: number;
}

export interface RunningTool {
  readonly tool: ToolName;
  /** The daemon's own pid (`ip netns exec` execs it, so it is the spawned child's pid). */
  readonly pid: number;
  /** What the setup means for the figures (e.g. scan guard on). */
  readonly notes: string[];
  /** Number of grants the tool has reported so far (sesame "open"/"renew" lines, knockd "OPEN SESAME"). */
  opens(): number;
  stop(): void;
}

/** The door in sesame.yaml. The scan guard stays on (the default): every try knocks from its own address. */
export function sesameYaml(o: DoorOptions = {}): string {
  const lines = [
    ...(o.setSize ? [`set_size: ${o.setSize}`] : []),
    'doors:',
    '  web:',
    `    knock: [${DOOR.knock.join(', ')}]`,
    `    within: ${o.withinS ?? DOOR.withinS}s`,
    `    open: [${DOOR.open}]`,
    `    for: ${DOOR.forS}s`,
  ];
  // every footprint SYN is a new connection, and the door remembers each one (a retransmit is
  // not a second knock) for 130 s: room for all of them, so none is refused by a full set
  if (o.pingDoor) {
    lines.unshift('set_size: 262144');
    lines.push('  ping:', `    knock: [${PING_PORT}]`, `    open: [${OPEN_PORT}]`, '    for: 2s');
  }
  return `${lines.join('\n')}\n`;
}

/** The same door in knockd.conf, opening with the usual `iptables -I INPUT -s %IP% ...`. */
export function knockdConf(dir: string, o: DoorOptions = {}): string {
  const rule = `INPUT -s %IP% -p tcp --dport ${DOOR.open} -j ACCEPT`;
  const lines = [
    '[options]',
    `  LogFile = ${join(dir, 'knockd.log')}`,
    `  PidFile = ${join(dir, 'knockd.pid')}`,
    '[web]',
    `  sequence = ${DOOR.knock.join(',')}`,
    `  seq_timeout = ${DOOR.withinS}`,
    '  tcpflags = syn',
    `  start_command = /usr/sbin/iptables -I ${rule}`,
    `  cmd_timeout = ${DOOR.forS}`,
    `  stop_command = /usr/sbin/iptables -D ${rule}`,
  ];
  // knockd forks a command per grant; /bin/true keeps the footprint run about knockd itself
  if (o.pingDoor) lines.push('[ping]', `  sequence = ${PING_PORT}`, '  tcpflags = syn', '  command = /bin/true');
  return `${lines.join('\n')}\n`;
}

/** Starts `sesame serve` with the bench door in `lab.server` (from `bin`, default the compiled tree). */
export async function startSesame(
  lab: Lab,
  dir: string,
  o: DoorOptions = {},
  bin?: string,
  nodeFlags?: readonly string[],
): Promise<RunningTool> {
  const config = join(dir, 'sesame.yaml');
  writeFileSync(config, sesameYaml(o));
  const child = await startDaemon(lab, lab.server, ['-c', config, '--state-dir', dir], { bin, nodeFlags });
  return running('sesame', child, ['scan guard on (default); each try knocks from its own address'], () =>
    countLines(child.output(), /\b(open|renew)\b.*door[=": ]+(web|ping)/),
  );
}

/**
 * Starts Debian's knockd on br0 in `lab.server`, after dropping new tcp/80 with iptables
 * in that namespace (knockd's start_command inserts an ACCEPT above it).
 */
export async function startKnockd(lab: Lab, dir: string, o: DoorOptions = {}): Promise<RunningTool> {
  const drop = await lab.run(lab.server, 'iptables', [
    '-A',
    'INPUT',
    '-p',
    'tcp',
    '--dport',
    String(DOOR.open),
    '-j',
    'DROP',
  ]);
  if (drop.code !== 0) throw new Error(`iptables in ${lab.server.ns} failed: ${drop.stderr}`);
  const conf = join(dir, 'knockd.conf');
  writeFileSync(conf, knockdConf(dir, o));
  const child = lab.spawn(lab.server, '/usr/sbin/knockd', ['-i', 'br0', '-c', conf]);
  child.stdout?.resume();
  child.stderr?.resume();
  const log = join(dir, 'knockd.log');
  await waitForFile(log, /starting up/, child);
  return running('knockd', child, ['knockd 0.8 (Debian), libpcap on br0, iptables-nft commands'], () =>
    countLines(readSafe(log), /OPEN SESAME/),
  );
}

function running(tool: ToolName, child: ChildProcess, notes: string[], opens: () => number): RunningTool {
  if (!child.pid) throw new Error(`${tool} did not start`);
  return {
    tool,
    pid: child.pid,
    notes,
    opens,
    stop: () => {
      try {
        child.kill('SIGTERM');
      } catch {}
    },
  };
}

function countLines(text: string, pattern: RegExp): number {
  let n = 0;
  for (const line of text.split('\n')) if (pattern.test(line)) n++;
  return n;
}

function readSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

async function waitForFile(file: string, pattern: RegExp, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pattern.test(readSafe(file))) return;
    if (child.exitCode !== null) throw new Error(`knockd exited (${child.exitCode}) before starting`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // waitForLine gives the same message shape as other lab start-up failures
  await waitForLine(child, pattern, 1);
}

/** Whether `tool` is on PATH (or in /usr/sbin, where Debian puts daemons). */
export function has(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool} || test -x /usr/sbin/${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
