#!/usr/bin/env node
import { probe, type ProbeResult } from './probe.js';

/**
 * `node syn-schedule.js HOST PORT OFFSETS_MS [TIMEOUT_MS]`: starts one TCP connect at each
 * offset (comma-separated ms after start, e.g. `0,1000,4000`) and prints a JSON array of
 * `{"at":ms,"result":"open"|"refused"|"timeout"|"error"}`. Each attempt gives up before the
 * kernel's first SYN retransmit (1 s), so every attempt is exactly one SYN: a scripted
 * knock on a single-port door. Run inside a lab namespace.
 */
export interface Attempt {
  readonly at: number;
  readonly result: ProbeResult;
}

export async function synSchedule(
  host: string,
  port: number,
  offsetsMs: readonly number[],
  timeoutMs = 900,
): Promise<Attempt[]> {
  const started = performance.now();
  return Promise.all(
    offsetsMs.map(async (offset) => {
      await new Promise((r) => setTimeout(r, Math.max(0, offset - (performance.now() - started))));
      const at = Math.round(performance.now() - started);
      const { result } = await probe(host, port, Math.min(timeoutMs, 950));
      return { at, result };
    }),
  );
}

if (process.argv[1]?.endsWith('syn-schedule.js')) {
  const [host, port, offsets, timeout] = process.argv.slice(2);
  synSchedule(host, Number(port), offsets.split(',').map(Number), timeout ? Number(timeout) : 900).then((r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
  });
}
