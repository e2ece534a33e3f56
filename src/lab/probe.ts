#!/usr/bin/env node
import { connect } from 'node:net';

/**
 * `node probe.js HOST PORT [TIMEOUT_MS] [FROM]`: tries one TCP connect and prints
 * `{"result":"open"|"refused"|"timeout"|"error","ms":N}`. Run inside a lab namespace.
 */
export type ProbeResult = 'open' | 'refused' | 'timeout' | 'error';

export function probe(
  host: string,
  port: number,
  timeoutMs = 2000,
  from?: string,
): Promise<{ result: ProbeResult; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect({ host, port, localAddress: from });
    const done = (result: ProbeResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ result, ms: Math.round((performance.now() - started) * 100) / 100 });
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.on('connect', () => done('open'));
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'refused' : 'error'));
  });
}

if (process.argv[1]?.endsWith('probe.js')) {
  const [host, port, timeout, from] = process.argv.slice(2);
  probe(host, Number(port), timeout ? Number(timeout) : 2000, from || undefined).then((r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
  });
}
