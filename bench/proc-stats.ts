import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** CPU and memory of one process, read from /proc (proc(5)). */
export interface ProcSample {
  /** utime + stime of the process itself, seconds. */
  readonly cpuS: number;
  /** cutime + cstime: CPU of reaped children (knockd's forked commands), seconds. */
  readonly childCpuS: number;
  readonly rssKb: number;
  /** Peak RSS so far (VmHWM). */
  readonly hwmKb: number;
  /** RSS split: private memory (heaps) and file pages (node's own binary, mostly; shared, clean). */
  readonly anonKb: number;
  readonly fileKb: number;
}

let ticks: number | undefined;
function clockTicks(): number {
  ticks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticks;
}

/** Samples `pid`; throws if it is gone (a daemon that died mid-benchmark is a result to see). */
export function sampleProc(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name may contain spaces; fields after ") " start at field 3 (state)
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const hz = clockTicks();
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
  return {
    cpuS: (Number(f[11]) + Number(f[12])) / hz,
    childCpuS: (Number(f[13]) + Number(f[14])) / hz,
    rssKb: kb('VmRSS'),
    hwmKb: kb('VmHWM'),
    anonKb: kb('RssAnon'),
    fileKb: kb('RssFile'),
  };
}

/** CPU seconds spent between two samples (self and reaped children). */
export function cpuBetween(a: ProcSample, b: ProcSample) {
  return { cpu_s: round2(b.cpuS - a.cpuS), child_cpu_s: round2(b.childCpuS - a.childCpuS) };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** Host-wide kernel slab memory in kB (/proc/meminfo `Slab`); noisy, but the set memory lands here. */
export function slabKb(): number {
  const m = /^Slab:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return Number(m?.[1] ?? Number.NaN);
}
