#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { makeSpaPacket, type SpaKey } from '../src/core/spa/packet.js';
import { probe } from '../src/lab/probe.js';

/**
 * `node spa-client.js JOB_JSON`: the SPA benchmark's client side, one process per job inside
 * a client namespace (so process start-up never lands in a timing). Jobs:
 *   tries - per source address: send an SPA packet for `port` from it (UDP 62201), then
 *           connect at once; `spacingMs` between tries
 *   flood - forged packets (right shape, wrong HMAC) at `rate`/s for `seconds`, bounded
 */
export type SpaClientJob =
  | {
      mode: 'tries';
      target: string;
      port: number;
      from: string[];
      key: string;
      hmac: string;
      spacingMs: number;
      timeoutMs: number;
      /** Wait (up to 1 s) for the server's answer that the grant is in, as sesame's client does. */
      waitAck: boolean;
    }
  | { mode: 'flood'; target: string; rate: number; seconds: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function send(packet: string, target: string, from: string | undefined, waitAck: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const done = () => {
      clearTimeout(timer);
      s.close();
      resolve();
    };
    const timer = setTimeout(done, waitAck ? 1000 : 0);
    timer.unref();
    s.on('message', done);
    s.bind({ address: from, port: 0 }, () => {
      s.send(packet, 62201, target, (err) => {
        if (err) {
          clearTimeout(timer);
          s.close();
          reject(err);
        } else if (!waitAck) done();
      });
    });
  });
}

async function tries(job: Extract<SpaClientJob, { mode: 'tries' }>) {
  const key: SpaKey = {
    key: Buffer.from(job.key, 'base64'),
    hmacKey: Buffer.from(job.hmac, 'base64'),
    hmacType: 'sha256',
  };
  const out: { from: string; result: string; ms: number }[] = [];
  for (const from of job.from) {
    const packet = makeSpaPacket(
      {
        username: 'bench',
        timestamp: Math.floor(Date.now() / 1000),
        allowIp: from,
        access: [{ proto: 'tcp', port: job.port }],
      },
      key,
    );
    // packet -> connected, what a user waits for: connect() as soon as the packet is sent
    // (with waitAck: answered)
    const started = performance.now();
    await send(packet, job.target, from, job.waitAck);
    const r = await probe(job.target, job.port, job.timeoutMs, from);
    out.push({ from, result: r.result, ms: performance.now() - started });
    if (job.spacingMs) await sleep(job.spacingMs);
  }
  return { tries: out };
}

function forgedPacket(): string {
  const cipher = Buffer.concat([Buffer.from('Salted__'), randomBytes(8 + 16 * 8)]);
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return b64(cipher).slice('U2FsdGVkX1'.length) + b64(randomBytes(32));
}

async function flood(job: Extract<SpaClientJob, { mode: 'flood' }>) {
  // the shape of a real packet (Salted__ + salt + whole cipher blocks, then a sha256-sized
  // HMAC), random bytes: every one passes the cheap checks and fails only the HMAC
  const forged = Array.from({ length: 512 }, () => forgedPacket());
  const s = createSocket('udp4');
  const total = Math.round(job.rate * job.seconds);
  const started = performance.now();
  let sent = 0;
  let errors = 0;
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((job.rate * tickMs) / 1000));
  while (sent < total && performance.now() - started < job.seconds * 1000 + 5000) {
    const due = Math.min(total, Math.round(((performance.now() - started) / 1000) * job.rate) + perTick);
    const batch: Promise<void>[] = [];
    for (; sent < due; sent++) {
      batch.push(
        new Promise((r) =>
          s.send(forged[sent % forged.length], 62201, job.target, (err) => {
            if (err) errors++;
            r();
          }),
        ),
      );
    }
    await Promise.all(batch);
    await sleep(tickMs);
  }
  s.close();
  const seconds = (performance.now() - started) / 1000;
  return { sent, errors, seconds: Math.round(seconds * 100) / 100, pps: Math.round(sent / seconds) };
}

const job = JSON.parse(process.argv[2] ?? '{}') as SpaClientJob;
(job.mode === 'tries' ? tries(job) : flood(job)).then(
  (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  (err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exitCode = 1;
  },
);
