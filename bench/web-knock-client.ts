#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { httpKnock } from '../src/client/http-knock.js';
import { parseSecret } from '../src/config/secret-file.js';
import { makeHmacToken } from '../src/core/knock-token.js';
import { probe } from '../src/lab/probe.js';

/**
 * `node web-knock-client.js JOB_JSON`: the client side of the web-knock bench, run inside a
 * client namespace as one process. Per source address: POST a fresh HMAC token to the
 * endpoint, then connect to the door's port at once. Prints one JSON line with every try.
 */
interface Job {
  url: string;
  door: string;
  secretFile: string;
  target: string;
  port: number;
  from: string[];
}

const job = JSON.parse(process.argv[2]) as Job;
const key = parseSecret(readFileSync(job.secretFile, 'utf8'));
if (typeof key === 'string') throw new Error(key);
const tries: { status: number; requestMs: number; openMs: number; result: string }[] = [];
// warm up JIT and the server's first-request paths on an address not measured
await httpKnock({
  url: job.url,
  door: job.door,
  token: makeHmacToken(key, job.door, Date.now()),
  localAddress: job.from[0],
});
for (const from of job.from.slice(1)) {
  const started = performance.now();
  const r = await httpKnock({
    url: job.url,
    door: job.door,
    token: makeHmacToken(key, job.door, Date.now()),
    localAddress: from,
  });
  const requestMs = performance.now() - started;
  const c = await probe(job.target, job.port, 2000, from);
  tries.push({ status: r.status, requestMs, openMs: performance.now() - started, result: c.result });
}
process.stdout.write(`${JSON.stringify({ tries })}\n`);
