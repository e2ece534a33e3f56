import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeHmacToken } from '../src/core/knock-token.js';
import { base32Encode, totp } from '../src/core/totp.js';
import { addClientAddresses, ipv4Range } from '../src/lab/addresses.js';
import { createLab } from '../src/lab/netns.js';
import { startDaemon, startEchoServer } from '../src/lab/processes.js';
import { TotpFailureBudget } from '../src/sources/http/totp-budget.js';
import { TokenVerifier } from '../src/sources/http/verifier.js';
import { MemoryReplayCache } from '../src/sources/replay/replay-cache.js';
import { latencySummary, round, share } from './stats.js';

const CLIENT = fileURLToPath(new URL('./web-knock-client.js', import.meta.url));
const PORT = 2222;

/** Verifications per second of one core for `make(i)` tokens, run for about `ms`. */
async function rate(verifier: TokenVerifier, door: string, make: (i: number) => string, ms: number): Promise<number> {
  const tokens = Array.from({ length: 5000 }, (_, i) => make(i));
  const now = Date.now();
  let n = 0;
  const started = performance.now();
  while (performance.now() - started < ms) {
    for (let i = 0; i < 1000; i++) await verifier.verify(door, tokens[(n + i) % tokens.length], now);
    n += 1000;
  }
  return Math.round(n / ((performance.now() - started) / 1000));
}

/** Token checks per second: the CPU cost of the endpoint per knock attempt (the attack path). */
async function verifyRates(quick: boolean): Promise<Record<string, number>> {
  const key = randomBytes(20);
  const ms = quick ? 300 : 1500;
  const now = Date.now();
  const good = totp(key, now);
  const wrongCodes = (i: number) => String((Number(good) + 1 + i) % 1e6).padStart(6, '0');
  const v = () =>
    new TokenVerifier(
      [{ name: 'ssh', tokens: ['totp', 'hmac'], key }],
      new MemoryReplayCache(1_000_000),
      // the CPU cost of checking a code: no per-door budget, which would refuse all but 3 unchecked
      new TotpFailureBudget(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY),
    );
  return {
    totp_wrong_per_s: await rate(v(), 'ssh', wrongCodes, ms),
    hmac_valid_per_s: await rate(v(), 'ssh', () => makeHmacToken(key, 'ssh', now), ms),
    hmac_forged_per_s: await rate(v(), 'ssh', (i) => makeHmacToken(randomBytes(20), 'ssh', now + i), ms),
    wrong_door_per_s: await rate(v(), 'nope', wrongCodes, ms),
  };
}

/**
 * HTTP request to open: a client POSTs a fresh HMAC token to the daemon's endpoint and
 * connects to the door's port at once, from a new source address each try (each try is a
 * new grant). Timed from the request's start to the 200 answer, and to the established
 * connection; the answer is sent after the grant is in the kernel set, so the first SYN passes.
 */
async function requestToOpen(quick: boolean): Promise<Record<string, unknown>> {
  const n = quick ? 40 : 200;
  const dir = mkdtempSync(join(tmpdir(), 'sesame-bench-web-'));
  const lab = createLab({ clients: 1, name: 'web' });
  try {
    const secretFile = join(dir, 'bench.key');
    writeFileSync(secretFile, `${base32Encode(randomBytes(20))}\n`, { mode: 0o600 });
    const config = join(dir, 'sesame.yaml');
    writeFileSync(
      config,
      `http:\n  listen: 0.0.0.0:8443\n  rate_limit: false\ndoors:\n  bench:\n    http: { token: hmac, secret: ${secretFile} }\n    open: [${PORT}]\n    for: 60s\n`,
    );
    const client = lab.clients[0];
    const from = ipv4Range('198.18.16.0', n + 1);
    await addClientAddresses(lab, client, from, '198.18.16.0/20');
    await startEchoServer(lab, lab.server, [PORT]);
    const daemon = await startDaemon(lab, lab.server, ['-c', config, '--state-dir', dir, '--log-format', 'json']);
    for (let i = 0; i < 100 && !daemon.output().includes('http-listening'); i++)
      await new Promise((r) => setTimeout(r, 50));
    const job = { url: 'http://198.18.0.1:8443', door: 'bench', secretFile, target: lab.server.v4, port: PORT, from };
    const r = await lab.run(client, process.execPath, [CLIENT, JSON.stringify(job)], { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`web-knock client failed: ${r.stderr}`);
    const tries = (
      JSON.parse(r.stdout) as { tries: { status: number; requestMs: number; openMs: number; result: string }[] }
    ).tries;
    const ok = tries.filter((t) => t.status === 200 && t.result === 'open');
    const req = latencySummary(ok.map((t) => t.requestMs));
    const open = latencySummary(ok.map((t) => t.openMs));
    return {
      tries: tries.length,
      opened_pct: share(ok.length, tries.length),
      request_p50_ms: req.p50_ms,
      request_p99_ms: req.p99_ms,
      open_p50_ms: open.p50_ms,
      open_p99_ms: open.p99_ms,
      open_max_ms: open.max_ms,
    };
  } finally {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The web-knock benchmark (issue 5): token verifications per second of one core, and the
 * time from HTTP knock request to an open port (p50/p99). Needs root for the lab.
 */
export async function benchWebKnock(opts: { quick: boolean }): Promise<object[]> {
  const rates = await verifyRates(opts.quick);
  const open = await requestToOpen(opts.quick);
  return [
    { scenario: 'web-knock-verify', tool: 'sesame', figures: rates, notes: ['one core, in-process TokenVerifier'] },
    {
      scenario: 'web-knock-open',
      tool: 'sesame',
      figures: open,
      notes: [
        'POST /knock/DOOR (HMAC token, plain HTTP) then connect from the same new address; nft grant = 2 nft runs',
      ],
    },
  ].map((r) => ({
    ...r,
    figures: Object.fromEntries(Object.entries(r.figures).map(([k, v]) => [k, typeof v === 'number' ? round(v) : v])),
  }));
}
