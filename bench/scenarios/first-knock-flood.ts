import { type BenchLab, withBenchLab } from '../bench-lab.js';
import type { Try } from '../knock-client.js';
import { clientJob, flood } from '../lab-jobs.js';
import type { BenchContext, BenchResult } from '../result.js';
import { DOOR } from '../tools.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One lab: the door's `set_size`, the forged sources that fill the first stage (exactly
 * set_size of them), the other forged sources the flood proper comes from, and the rates tried
 * (0 = as fast as the sender goes). The lab routes 114,688 forged sources back to the flooder,
 * so a small set_size is what lets the flood lane be flooded past its bound at all.
 */
interface Setup {
  readonly setSize: number;
  readonly fill: { blocks: string[]; sources: number };
  readonly flood: { blocks: string[]; sources: number };
  readonly rates: number[];
}
const SMALL: Setup = {
  setSize: 16384,
  fill: { blocks: ['198.19.0.0'], sources: 16384 },
  flood: { blocks: ['198.19.64.0', '198.18.64.0'], sources: 32768 },
  rates: [8000, 16000, 24000, 32000],
};
const DEFAULT: Setup = {
  setSize: 65536,
  fill: { blocks: ['198.19.0.0'], sources: 65536 },
  flood: { blocks: ['198.18.64.0'], sources: 49152 },
  rates: [0],
};
/** Longer than a lab's whole run, so nothing the fill put in the first stage expires meanwhile. */
const WITHIN_S = 300;
const TRY_TIMEOUT_MS = 1500;

/**
 * First-knock flood: the first stage (`web_k1_4`) is filled to its bound, then forged first
 * knocks arrive at a fixed rate from sources it doesn't hold, so each lands in the flood lane
 * (`web_kq_4`, entries live 1 s). Meanwhile legitimate clients knock the whole sequence with
 * `sesame knock`'s client, each from its own address, and connect. Per rate: how many got in,
 * the rate actually sent, and what the first stage and the flood lane held.
 */
export async function firstKnockFlood(ctx: BenchContext): Promise<BenchResult[]> {
  if (!ctx.tools.includes('sesame')) return [];
  const setups = ctx.quick ? [{ ...SMALL, rates: [8000] }] : [SMALL, DEFAULT];
  const tries = ctx.quick ? 2 : 8;
  const out: BenchResult[] = [];
  for (const setup of setups) {
    const opts = { clientAddresses: setup.rates.length * tries, setSize: setup.setSize, withinS: WITHIN_S };
    out.push(await withBenchLab('sesame', opts, (b) => run(ctx, b, setup, tries)));
  }
  return out;
}

async function run(ctx: BenchContext, b: BenchLab, setup: Setup, tries: number): Promise<BenchResult> {
  const rows: Record<string, number>[] = [];
  for (const rate of setup.rates) {
    ctx.log(
      `first-knock-flood: set_size ${setup.setSize}, ${rate || 'max'} forged first knocks/s, ${tries} legit knocks`,
    );
    await flood(b.lab, b.flooder, {
      target: b.target,
      ports: [DOOR.knock[0]],
      ...setup.fill,
      count: setup.fill.blocks.length * setup.fill.sources,
      rate: 0,
      maxSeconds: 30,
    });
    const maxSeconds = ctx.quick ? 6 : 25;
    const segsBefore = await tcpInSegs(b);
    const [sent, during] = await Promise.all([
      flood(b.lab, b.flooder, {
        target: b.target,
        ports: [DOOR.knock[0]],
        ...setup.flood,
        count: Math.round((rate || 200_000) * maxSeconds),
        rate,
        maxSeconds,
      }),
      (async () => {
        // the sender builds its packets before it sends: wait until the lane shows the flood
        const want = Math.min(rate || 20_000, setup.setSize) / 4;
        const deadline = Date.now() + (maxSeconds * 1000) / 2;
        let laneBefore = 0;
        while ((laneBefore = await elements(b, 'web_kq_4')) < want && Date.now() < deadline) await sleep(200);
        const r = await clientJob<{ tries: Try[] }>(b.lab, b.client, {
          mode: 'tries',
          target: b.target,
          knock: [...DOOR.knock],
          port: DOOR.open,
          from: b.addresses(tries),
          spacingMs: 0,
          timeoutMs: TRY_TIMEOUT_MS,
        });
        const laneAfter = await elements(b, 'web_kq_4');
        return { laneBefore, laneAfter, firstStage: await elements(b, 'web_k1_4'), tries: r.tries };
      })(),
    ]);
    // what reached the server's TCP (every knock goes on to the stack): the sender's rate is not
    // what arrives once the host drops packets on the way
    const received = (await tcpInSegs(b)) - segsBefore;
    rows.push({
      rate_asked: rate,
      flood_pps: sent.pps,
      received_pps: Math.round(received / sent.seconds),
      flood_sent: sent.sent,
      first_stage_elements: during.firstStage,
      flood_lane_before: during.laneBefore,
      flood_lane_after: during.laneAfter,
      legit_opened: during.tries.filter((t) => t.result === 'open').length,
      legit_tries: during.tries.length,
    });
    await sleep(2500); // the flood lane empties before the next rate
  }
  const allIn = rows.filter((r) => r.legit_opened === r.legit_tries).map((r) => r.flood_pps);
  return {
    scenario: setup.setSize === DEFAULT.setSize ? 'first-knock-flood-default' : 'first-knock-flood',
    tool: 'sesame',
    figures: {
      set_size: setup.setSize,
      within_s: WITHIN_S,
      flood_sources: setup.flood.blocks.length * setup.flood.sources,
      highest_rate_all_in_pps: allIn.length ? Math.max(...allIn) : 0,
      rates: rows,
    },
    notes: [
      `the first stage is filled with ${setup.setSize} forged sources first; the flood's own sources are others, so all of it lands in the flood lane`,
      'the legit knocks start once the flood lane holds a quarter of min(rate, set_size); flood_lane_before/after are its live entries then and after the knocks, first_stage_elements after the knocks (expired entries still count against the bound until the kernel collects them)',
    ],
  };
}

async function elements(b: BenchLab, set: string): Promise<number> {
  const r = await b.lab.run(b.lab.server, 'nft', ['-j', 'list', 'set', 'inet', 'sesame', set], { timeoutMs: 60_000 });
  try {
    return (JSON.parse(r.stdout).nftables?.[1]?.set?.elem ?? []).length;
  } catch {
    return -1;
  }
}

/** The server namespace's TCP segments received so far (/proc/net/snmp, Tcp InSegs). */
async function tcpInSegs(b: BenchLab): Promise<number> {
  const r = await b.lab.run(b.lab.server, 'cat', ['/proc/net/snmp']);
  const tcp = r.stdout.split('\n').filter((l) => l.startsWith('Tcp:'));
  const [head, values] = tcp.map((l) => l.split(/\s+/));
  return Number(values?.[head?.indexOf('InSegs') ?? -1] ?? Number.NaN);
}
