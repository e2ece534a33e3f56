import { fileURLToPath } from 'node:url';
import type { Host, Lab } from '../src/lab/netns.js';
import type { ClientJob } from './knock-client.js';

/** Runs the benchmark's helper programs inside lab namespaces and parses their JSON. */

const CLIENT_BIN = fileURLToPath(new URL('./knock-client.js', import.meta.url));
// the sender is a Python script kept next to the TypeScript sources (tsc does not copy it)
const SPOOF_BIN = fileURLToPath(new URL('../../bench/spoof-syn.py', import.meta.url));

/** Runs one knock-client job in `host` (one process for all its tries). */
export async function clientJob<T>(lab: Lab, host: Host, job: ClientJob, timeoutMs = 600_000): Promise<T> {
  const r = await lab.run(host, process.execPath, [CLIENT_BIN, JSON.stringify(job)], { timeoutMs });
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`knock-client (${job.mode}) failed in ${host.ns}: ${r.stderr || r.stdout || `exit ${r.code}`}`);
  }
}

export interface FloodSpec {
  readonly target: string;
  readonly ports: readonly number[];
  /** First address of each source block (all inside 198.18.0.0/15). */
  readonly blocks: readonly string[];
  /** Addresses per block. */
  readonly sources: number;
  readonly count: number;
  /** Packets per second; 0 = as fast as the sender goes. */
  readonly rate: number;
  readonly maxSeconds: number;
  /** Packets sent back to back between rate checks (default 64); 1 spaces every packet evenly. */
  readonly batch?: number;
  /** Epoch ms to start sending at (several senders in step); default: at once. */
  readonly startAt?: number;
  /** Every packet a new connection (source port), so per-connection dedupe counts each one. */
  readonly freshSport?: boolean;
}

export interface FloodResult {
  readonly sent: number;
  readonly seconds: number;
  readonly pps: number;
  readonly errors: number;
  /** Epoch ms when sending began. */
  readonly began: number;
}

/** Sends a bounded spoofed-source SYN flood from `host` (see bench/spoof-syn.py). */
export async function flood(lab: Lab, host: Host, f: FloodSpec): Promise<FloodResult> {
  const args = [
    SPOOF_BIN,
    '--dst',
    f.target,
    '--ports',
    f.ports.join(','),
    ...f.blocks.flatMap((b) => ['--src', b]),
    '--sources',
    String(f.sources),
    '--count',
    String(f.count),
    '--rate',
    String(f.rate),
    '--max-seconds',
    String(f.maxSeconds),
    ...(f.batch ? ['--batch', String(f.batch)] : []),
    ...(f.startAt ? ['--start-at', String(f.startAt / 1000)] : []),
    ...(f.freshSport ? ['--fresh-sport'] : []),
  ];
  const r = await lab.run(host, 'python3', args, { timeoutMs: (f.maxSeconds + 60) * 1000 });
  try {
    const result = JSON.parse(r.stdout) as FloodResult;
    return { ...result, began: result.began * 1000 };
  } catch {
    throw new Error(`spoof-syn failed in ${host.ns}: ${r.stderr || r.stdout || `exit ${r.code}`}`);
  }
}
