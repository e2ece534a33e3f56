#!/usr/bin/env node
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';

/**
 * `node web-get-client.js JOB_JSON`: the client side of the access-log web knocks (sesame's
 * log door, fail2ban), run in a client namespace as one process. Per source address: GET the
 * knock URL (nginx answers 404; its log line is the knock), then find when the port opens.
 *
 * A log-watching tool grants after nginx has answered, so a single connect right after the
 * answer usually loses its SYN and TCP waits 1 s to retry: the figure would be TCP's timer,
 * not the tool. Instead a train of connects starts at the answer, each given up before its
 * SYN would be retransmitted, started ever more sparsely (every max(1 ms, 2 % of the time
 * waited so far)); the first one established marks the port open to within about 2 %.
 * Bounded: at most `timeoutMs` per try, and a few hundred sockets at a time.
 */
export interface WebGetJob {
  url: string;
  target: string;
  port: number;
  from: string[];
  timeoutMs: number;
}

export interface WebGetTry {
  readonly from: string;
  readonly status: number;
  /** GET sent → answer received. */
  readonly requestMs: number;
  /** GET sent → a connection to the port established; absent when it never opened. */
  readonly openMs?: number;
  /** The connect started right after the answer was the one that got through. */
  readonly firstSyn: boolean;
}

/** Give each connect up before TCP's 1 s initial retransmit, so no retransmit lands in a figure. */
const ATTEMPT_MS = 900;

function get(url: string, from: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress: from, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} from ${from} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

function firstConnected(
  job: WebGetJob,
  from: string,
  t0: number,
): Promise<{ openMs: number; firstSyn: boolean } | undefined> {
  return new Promise((resolve) => {
    const sockets = new Map<Socket, NodeJS.Timeout>();
    const started = performance.now();
    let next: NodeJS.Timeout | undefined;
    let done = false;
    let count = 0;
    const drop = (s: Socket) => {
      clearTimeout(sockets.get(s));
      sockets.delete(s);
      s.destroy();
    };
    const finish = (r: { openMs: number; firstSyn: boolean } | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(next);
      for (const s of [...sockets.keys()]) drop(s);
      resolve(r);
    };
    const attempt = () => {
      const waited = performance.now() - started;
      if (done) return;
      if (waited > job.timeoutMs) return finish(undefined);
      const first = count++ === 0;
      const s = connect({ host: job.target, port: job.port, localAddress: from });
      sockets.set(
        s,
        setTimeout(() => drop(s), ATTEMPT_MS),
      );
      s.on('connect', () => finish({ openMs: performance.now() - t0, firstSyn: first }));
      s.on('error', () => drop(s));
      next = setTimeout(attempt, Math.max(1, waited / 50));
    };
    attempt();
  });
}

async function main(job: WebGetJob): Promise<WebGetTry[]> {
  const tries: WebGetTry[] = [];
  for (const from of job.from) {
    const t0 = performance.now();
    const status = await get(job.url, from);
    const requestMs = performance.now() - t0;
    const open = await firstConnected(job, from, t0);
    tries.push({ from, status, requestMs, openMs: open?.openMs, firstSyn: open?.firstSyn ?? false });
  }
  return tries;
}

main(JSON.parse(process.argv[2] ?? '{}') as WebGetJob).then(
  (tries) => process.stdout.write(`${JSON.stringify({ tries })}\n`),
  (err) => {
    process.stderr.write(`web-get-client: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
