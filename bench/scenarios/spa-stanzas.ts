import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFwknopAccess } from '../../src/config/fwknop-access.js';
import { SpaGate } from '../../src/core/spa/admit.js';
import { checkWire, makeSpaPacket } from '../../src/core/spa/packet.js';
import { addClientAddresses, ipv4Range } from '../../src/lab/addresses.js';
import { createLab } from '../../src/lab/netns.js';
import { startEchoServer } from '../../src/lab/processes.js';
import { cpuBetween, sampleProc } from '../proc-stats.js';
import type { BenchContext, BenchResult } from '../result.js';
import { round, share } from '../stats.js';
import { spaJob, startSesame } from './spa.js';

/**
 * SPA with many stanzas under a forged flood: 20 `SOURCE ANY` stanzas, each with its own
 * keys, the legitimate user's key the last one (every stanza is tried before it). One host
 * sends forged packets of a real packet's shape (they fail only the HMAC) at 20,000/s, bounded
 * in count and time; meanwhile another sends legitimate packets from fresh addresses, 5 a
 * second. Figures: how many of those opened, and the daemon's CPU per forged packet (its CPU
 * over the flood divided by the packets sent); plus the in-process cost of one forged packet
 * against 20 stanzas, with no per-source budget in the way.
 */

const PORT = 80;
const STANZAS = 20;
const FLOOD_RATE = 20_000;

export async function spaStanzas(ctx: BenchContext): Promise<BenchResult[]> {
  const floodS = ctx.quick ? 3 : 10;
  const tries = ctx.quick ? 8 : 32;
  const keys = Array.from({ length: STANZAS }, () => ({
    key: randomBytes(32).toString('base64'),
    hmac: randomBytes(64).toString('base64'),
  }));
  const accessText = keys
    .map(
      (k) =>
        `SOURCE ANY\nKEY_BASE64 ${k.key}\nHMAC_KEY_BASE64 ${k.hmac}\nOPEN_PORTS tcp/${PORT}\nFW_ACCESS_TIMEOUT 60\n`,
    )
    .join('\n');
  ctx.log(`spa-stanzas: in-process cost of a forged packet, ${STANZAS} stanzas`);
  const inProcess = await forgedCost(accessText);

  const dir = mkdtempSync(join(tmpdir(), 'sesame-bench-spa-stanzas-'));
  const lab = createLab({ clients: 2, name: 'spastz' });
  let daemon: ChildProcess | undefined;
  try {
    const [client, flooder] = lab.clients;
    const pool = ipv4Range('198.18.16.0', tries);
    await addClientAddresses(lab, client, pool, '198.18.16.0/20');
    await startEchoServer(lab, lab.server, [PORT]);
    const access = join(dir, 'access.conf');
    writeFileSync(access, accessText);
    ctx.log('spa-stanzas: sesame under the flood');
    daemon = await startSesame(lab, dir, access);
    const last = keys[keys.length - 1];
    const before = sampleProc(daemon.pid as number);
    const [floodResult, during] = await Promise.all([
      spaJob<{ sent: number; seconds: number; pps: number }>(lab, flooder, {
        mode: 'flood',
        target: lab.server.v4,
        rate: FLOOD_RATE,
        seconds: floodS,
      }),
      new Promise((r) => setTimeout(r, 300)).then(() =>
        spaJob<{ tries: { result: string; ms: number }[] }>(lab, client, {
          mode: 'tries',
          target: lab.server.v4,
          port: PORT,
          from: pool,
          key: last.key,
          hmac: last.hmac,
          spacingMs: Math.max(0, Math.round((floodS * 1000 - 600) / tries) - 100),
          timeoutMs: 3500,
          waitAck: false,
        }),
      ),
    ]);
    const after = sampleProc(daemon.pid as number);
    const opened = during.tries.filter((t) => t.result === 'open');
    const cpu = cpuBetween(before, after);
    return [
      {
        scenario: 'spa-stanzas',
        tool: 'sesame',
        figures: {
          stanzas: STANZAS,
          flood_sent: floodResult.sent,
          flood_pps: floodResult.pps,
          legit_tries: during.tries.length,
          legit_opened: opened.length,
          legit_opened_pct: share(opened.length, during.tries.length),
          ...cpu,
          cpu_us_per_forged: round((cpu.cpu_s * 1e6) / Math.max(1, floodResult.sent)),
          ...inProcess,
        },
      },
    ];
  } finally {
    daemon?.kill('SIGKILL');
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU microseconds the gate spends on one forged packet of the right shape (no budget). */
async function forgedCost(accessText: string): Promise<Record<string, number>> {
  const doors = parseFwknopAccess(accessText);
  const gate = new SpaGate(doors);
  const k = doors[0].spa.key!;
  const now = Date.now();
  const real = makeSpaPacket(
    {
      username: 'bench',
      timestamp: Math.floor(now / 1000),
      allowIp: '198.18.0.2',
      access: [{ proto: 'tcp', port: PORT }],
    },
    k,
  );
  const forged = Array.from(
    { length: 256 },
    () => real.slice(0, -43) + randomBytes(32).toString('base64').slice(0, 43),
  );
  let done = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  while (performance.now() - started < 1000) {
    for (const p of forged) {
      const w = checkWire(p);
      if (!w.ok) throw new Error('spa-stanzas bench: a forged packet failed the wire check');
      const a = await gate.admit(w.wire, '198.18.0.2', undefined, now, () => true);
      if (a.ok) throw new Error('spa-stanzas bench: a forged packet was admitted');
      done++;
    }
  }
  const used = process.cpuUsage(cpu);
  return { in_process_us_per_forged: round((used.user + used.system) / done) };
}
