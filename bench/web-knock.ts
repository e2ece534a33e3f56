import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeHmacToken } from '../src/core/knock-token.js';
import { base32Encode, totp } from '../src/core/totp.js';
import { addClientAddresses, ipv4Range } from '../src/lab/addresses.js';
import { createLab, type Host, type Lab } from '../src/lab/netns.js';
import { startNginx } from '../src/lab/nginx.js';
import { startDaemon, startEchoServer } from '../src/lab/processes.js';
import { WrongCodeBudget } from '../src/sources/http/wrong-code-budget.js';
import { TotpFailureBudget } from '../src/sources/http/totp-budget.js';
import { TokenVerifier } from '../src/sources/http/verifier.js';
import { MemoryReplayCache } from '../src/sources/replay/replay-cache.js';
import { fail2banInstalled, type RunningFail2ban, startFail2ban } from './fail2ban.js';
import type { BenchResult } from './result.js';
import { latencySummary, percentile, round, share } from './stats.js';
import type { WebGetJob, WebGetTry } from './web-get-client.js';

const CLIENT = fileURLToPath(new URL('./web-knock-client.js', import.meta.url));
const GET_CLIENT = fileURLToPath(new URL('./web-get-client.js', import.meta.url));
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
      new WrongCodeBudget(
        undefined,
        new TotpFailureBudget(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY),
        new TotpFailureBudget(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY),
      ),
    );
  return {
    totp_wrong_per_s: await rate(v(), 'ssh', wrongCodes, ms),
    hmac_valid_per_s: await rate(v(), 'ssh', () => makeHmacToken(key, 'ssh', now), ms),
    hmac_forged_per_s: await rate(v(), 'ssh', (i) => makeHmacToken(randomBytes(20), 'ssh', now + i), ms),
    wrong_door_per_s: await rate(v(), 'nope', wrongCodes, ms),
  };
}

/** Where each web knock opens: one port per tool, so no tool's grant serves another's try. */
const LOG_PORT = 2223;
const FAIL2BAN_PORT = 2224;
const LOG_URL = '/knock/sesame';
const FAIL2BAN_URL = '/knock/fail2ban';

/**
 * One lab for every web knock, in the same run: nginx on the server writes its access log,
 * sesame serves the endpoint door (tcp/2222) and a log door on that log (tcp/2223), and
 * Debian's fail2ban watches the same log with a reverse-ban jail (tcp/2224). Every try comes
 * from its own source address, so each is a new grant.
 */
async function requestToOpen(quick: boolean, log: (line: string) => void): Promise<BenchResult[]> {
  const n = quick ? 40 : 200;
  const nLog = quick ? 10 : 100;
  const dir = mkdtempSync(join(tmpdir(), 'sesame-bench-web-'));
  const lab = createLab({ clients: 1, name: 'web' });
  let fail2ban: RunningFail2ban | undefined;
  try {
    const secretFile = join(dir, 'bench.key');
    writeFileSync(secretFile, `${base32Encode(randomBytes(20))}\n`, { mode: 0o600 });
    const client = lab.clients[0];
    const from = ipv4Range('198.18.16.0', n + 1 + 2 * (nLog + 1));
    await addClientAddresses(lab, client, from, '198.18.16.0/20');
    await startEchoServer(lab, lab.server, [PORT, LOG_PORT, FAIL2BAN_PORT]);
    const nginx = await startNginx(lab, lab.server, dir);
    const config = join(dir, 'sesame.yaml');
    writeFileSync(
      config,
      [
        'http:\n  listen: 0.0.0.0:8443\n  rate_limit: false\ndoors:',
        `  bench:\n    http: { token: hmac, secret: ${secretFile} }\n    open: [${PORT}]\n    for: 60s`,
        `  bench-log:\n    log:\n      file: ${nginx.accessLog}\n      match: '^<HOST> -.*"GET ${LOG_URL}'\n    open: [${LOG_PORT}]\n    for: 60s\n`,
      ].join('\n'),
    );
    const daemon = await startDaemon(lab, lab.server, ['-c', config, '--state-dir', dir, '--log-format', 'json']);
    for (
      let i = 0;
      i < 100 && !(daemon.output().includes('http-listening') && daemon.output().includes('log-watch'));
      i++
    )
      await new Promise((r) => setTimeout(r, 50));
    if (fail2banInstalled())
      fail2ban = await startFail2ban(lab, lab.server, {
        dir: join(dir, 'fail2ban'),
        logFile: nginx.accessLog,
        urlPath: FAIL2BAN_URL,
        port: FAIL2BAN_PORT,
        bantimeS: 60,
      });

    log(`web-knock: sesame endpoint, ${n} tries`);
    const job = {
      url: 'http://198.18.0.1:8443',
      door: 'bench',
      secretFile,
      target: lab.server.v4,
      port: PORT,
      from: from.slice(0, n + 1),
    };
    const r = await lab.run(client, process.execPath, [CLIENT, JSON.stringify(job)], { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`web-knock client failed: ${r.stderr}`);
    const tries = (
      JSON.parse(r.stdout) as { tries: { status: number; requestMs: number; openMs: number; result: string }[] }
    ).tries;
    const ok = tries.filter((t) => t.status === 200 && t.result === 'open');
    const req = latencySummary(ok.map((t) => t.requestMs));
    const open = latencySummary(ok.map((t) => t.openMs));
    const endpoint: BenchResult = {
      scenario: 'web-knock-open',
      tool: 'sesame',
      figures: {
        tries: tries.length,
        opened_pct: share(ok.length, tries.length),
        request_p50_ms: req.p50_ms,
        request_p99_ms: req.p99_ms,
        open_p50_ms: open.p50_ms,
        open_p99_ms: open.p99_ms,
        open_max_ms: open.max_ms,
      },
      notes: [
        'POST /knock/DOOR (HMAC token, plain HTTP) then connect from the same new address; nft grant = 2 nft runs',
      ],
      samples: ok.map((t) => round(t.openMs)),
    };

    const logKnock = async (tool: string, url: string, port: number, addresses: string[]): Promise<BenchResult> => {
      log(`web-knock: ${tool} on the nginx access log, ${nLog} tries`);
      const got = await webGet(lab, client, {
        url: `http://${lab.server.v4}${url}`,
        target: lab.server.v4,
        port,
        from: addresses,
        timeoutMs: 8000,
      });
      const measured = got.slice(1); // the first try warms up the client's code paths
      const opened = measured.filter((t) => t.openMs !== undefined).map((t) => t.openMs as number);
      const o = latencySummary(opened);
      return {
        scenario: 'web-knock-log',
        tool,
        figures: {
          tries: measured.length,
          opened_pct: share(opened.length, measured.length),
          first_syn_pct: share(measured.filter((t) => t.firstSyn).length, measured.length),
          request_p50_ms: round(
            percentile(
              measured.map((t) => t.requestMs),
              50,
            ),
          ),
          open_p50_ms: o.p50_ms,
          open_p99_ms: o.p99_ms,
          open_max_ms: o.max_ms,
        },
        notes: [`GET ${url} on nginx (404), then connects to tcp/${port} until one is established`],
        samples: opened.map((ms) => round(ms)),
      };
    };
    const sesameLog = await logKnock('sesame', LOG_URL, LOG_PORT, from.slice(n + 1, n + 1 + nLog + 1));
    const results = [
      endpoint,
      { ...sesameLog, notes: [...(sesameLog.notes ?? []), 'sesame log door on the same daemon as the endpoint'] },
    ];
    if (!fail2ban)
      return [
        ...results,
        {
          scenario: 'web-knock-log',
          tool: 'fail2ban',
          figures: {},
          notes: ['fail2ban is not installed (apt install fail2ban)'],
        },
      ];
    const f2b = await logKnock('fail2ban', FAIL2BAN_URL, FAIL2BAN_PORT, from.slice(n + 1 + nLog + 1));
    const bans = (fail2ban.output().match(/\bBan \d/g) ?? []).length;
    return [
      ...results,
      {
        ...f2b,
        figures: { ...f2b.figures, bans },
        notes: [
          ...(f2b.notes ?? []),
          `fail2ban ${fail2ban.version}, ${fail2ban.backend} backend, maxretry 1, reverse ban: actionban adds the address to an nft set that accepts tcp/${FAIL2BAN_PORT}`,
        ],
      },
    ];
  } finally {
    fail2ban?.stop();
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function webGet(lab: Lab, host: Host, job: WebGetJob): Promise<WebGetTry[]> {
  const r = await lab.run(host, process.execPath, [GET_CLIENT, JSON.stringify(job)], { timeoutMs: 300_000 });
  try {
    return (JSON.parse(r.stdout) as { tries: WebGetTry[] }).tries;
  } catch {
    throw new Error(`web-get-client failed in ${host.ns}: ${r.stderr || r.stdout || `exit ${r.code}`}`);
  }
}

/**
 * The web-knock benchmark (issue 5): token verifications per second of one core, and the
 * time from web knock to an open port (p50/p99) for sesame's endpoint, sesame's log door and
 * fail2ban's reverse ban on the same nginx log. Needs root for the lab.
 */
export async function benchWebKnock(opts: { quick: boolean; log?: (line: string) => void }): Promise<BenchResult[]> {
  const rates = await verifyRates(opts.quick);
  const open = await requestToOpen(opts.quick, opts.log ?? (() => {}));
  return [
    { scenario: 'web-knock-verify', tool: 'sesame', figures: rates, notes: ['one core, in-process TokenVerifier'] },
    ...open,
  ].map((r) => ({
    ...r,
    figures: Object.fromEntries(Object.entries(r.figures).map(([k, v]) => [k, typeof v === 'number' ? round(v) : v])),
  }));
}
