#!/usr/bin/env node
import { knock } from '../src/client/knock.js';
import { probe } from '../src/lab/probe.js';

/**
 * `node knock-client.js JOB_JSON`: the client side of the benchmarks, run inside a client
 * namespace as ONE process for all tries (so process start-up never lands in a timing).
 * Knocks with sesame's own client (src/client/knock.ts), connects with the lab probe, and
 * prints one JSON line with every try. Jobs:
 *   rtt    - N connects to an open port: the veth round trip, the floor of any "established"
 *   tries  - per source address: knock, then connect at once; sequential, or started every
 *            `spacingMs` (tries overlap) when spacingMs > 0
 *   burst  - every knocker knocks at the same moment, then knockers and bystanders
 *            (addresses that never knocked) connect; bystanders must stay closed
 */
export type ClientJob =
  | { mode: 'rtt'; target: string; port: number; n: number }
  | {
      mode: 'tries';
      target: string;
      knock: number[];
      port: number;
      from: string[];
      spacingMs: number;
      timeoutMs: number;
    }
  | {
      mode: 'burst';
      target: string;
      knock: number[];
      port: number;
      knockers: string[];
      bystanders: string[];
      timeoutMs: number;
    };

export interface Try {
  readonly from: string;
  readonly result: string;
  /** connect() call (right after the last knock left) to established, or to the timeout. */
  readonly ms: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ports = (list: number[]) => list.map((port) => ({ port, proto: 'tcp' as const }));

async function knockThenConnect(
  target: string,
  knockPorts: number[],
  port: number,
  from: string,
  timeoutMs: number,
): Promise<Try> {
  await knock(target, ports(knockPorts), { localAddress: from });
  const r = await probe(target, port, timeoutMs, from);
  return { from, result: r.result, ms: r.ms };
}

async function run(job: ClientJob): Promise<object> {
  switch (job.mode) {
    case 'rtt': {
      const ms: number[] = [];
      // the first connects pay for JIT warm-up, not for the network
      for (let i = 0; i < 5; i++) await probe(job.target, job.port, 2000);
      for (let i = 0; i < job.n; i++) ms.push((await probe(job.target, job.port, 2000)).ms);
      return { ms };
    }
    case 'tries': {
      if (job.spacingMs <= 0) {
        const tries: Try[] = [];
        for (const from of job.from)
          tries.push(await knockThenConnect(job.target, job.knock, job.port, from, job.timeoutMs));
        return { tries };
      }
      const tries = await Promise.all(
        job.from.map(async (from, i) => {
          await sleep(i * job.spacingMs);
          return knockThenConnect(job.target, job.knock, job.port, from, job.timeoutMs);
        }),
      );
      return { tries };
    }
    case 'burst': {
      const started = performance.now();
      await Promise.all(job.knockers.map((from) => knock(job.target, ports(job.knock), { localAddress: from })));
      const knockedMs = performance.now() - started;
      let lastOpenMs = 0;
      const connect = async (from: string) => {
        const r = await probe(job.target, job.port, job.timeoutMs, from);
        if (r.result === 'open') lastOpenMs = Math.max(lastOpenMs, performance.now() - started);
        return { from, result: r.result, ms: r.ms };
      };
      const [knockers, bystanders] = await Promise.all([
        Promise.all(job.knockers.map(connect)),
        // bystanders connect a little later, so any grant leaking to them would already exist
        sleep(50).then(() =>
          Promise.all(
            job.bystanders.map((from) =>
              probe(job.target, job.port, 1500, from).then((r) => ({ from, result: r.result })),
            ),
          ),
        ),
      ]);
      return { knockedMs, lastOpenMs, knockers, bystanders };
    }
  }
}

const job = JSON.parse(process.argv[2] ?? '{}') as ClientJob;
run(job).then(
  (out) => process.stdout.write(`${JSON.stringify(out)}\n`),
  (err) => {
    process.stderr.write(`knock-client: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
