import { type BenchLab, withBenchLab } from '../bench-lab.js';
import type { Try } from '../knock-client.js';
import { clientJob, flood } from '../lab-jobs.js';
import type { BenchContext, BenchResult } from '../result.js';
import { DOOR } from '../tools.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The bench door's `set_size` here: small enough that the lab's forged sources outnumber what
 * the first stage and the flood lane hold together at every rate tried (the lane holds
 * rate x about 1-2 s). The withstood rate scales with set_size.
 */
const SET_SIZE = 16384;
/** Fills the first stage: SET_SIZE forged sources, each sending one first knock. */
const FILL = { blocks: ['198.19.0.0'], sources: SET_SIZE };
/** The flood proper: 65,536 other forged sources, so every first knock lands in the flood lane. */
const FLOOD = { blocks: ['198.19.64.0', '198.18.64.0'], sources: 32768 };
const TRY_TIMEOUT_MS = 1500;
const SETTLE_MS = 2000;

/**
 * First-knock flood: the first stage (`web_k1_4`) is filled to its bound, then forged first
 * knocks arrive at a fixed rate from sources it doesn't hold, so each one lands in the flood
 * lane (`web_kq_4`, entries live 1 s). Meanwhile legitimate clients knock the whole sequence
 * with `sesame knock`'s client, each from its own address, and connect. Per rate: how many got
 * in, the rate actually sent, and what the first stage and the flood lane held.
 */
export async function firstKnockFlood(ctx: BenchContext): Promise<BenchResult[]> {
  const rates = ctx.quick ? [8000] : [4000, 8000, 12000, 16000, 24000, 32000];
  const tries = ctx.quick ? 2 : 8;
  if (!ctx.tools.includes('sesame')) return [];
  return withBenchLab('sesame', { clientAddresses: rates.length * tries, setSize: SET_SIZE }, async (b) => {
    const rows: Record<string, number>[] = [];
    for (const rate of rates) {
      ctx.log(`first-knock-flood: ${rate} forged first knocks/s, ${tries} legit knocks`);
      await flood(b.lab, b.flooder, {
        target: b.target,
        ports: [DOOR.knock[0]],
        ...FILL,
        count: FILL.sources,
        rate: 0,
        maxSeconds: 20,
      });
      const maxSeconds = (SETTLE_MS + tries * (TRY_TIMEOUT_MS + 500)) / 1000 + 2;
      const [sent, during] = await Promise.all([
        flood(b.lab, b.flooder, {
          target: b.target,
          ports: [DOOR.knock[0]],
          ...FLOOD,
          count: Math.round(rate * maxSeconds),
          rate,
          maxSeconds,
        }),
        sleep(SETTLE_MS).then(async () => {
          const firstStage = await setSize(b, 'web_k1_4');
          const lane = await setSize(b, 'web_kq_4');
          const r = await clientJob<{ tries: Try[] }>(b.lab, b.client, {
            mode: 'tries',
            target: b.target,
            knock: [...DOOR.knock],
            port: DOOR.open,
            from: b.addresses(tries),
            spacingMs: 0,
            timeoutMs: TRY_TIMEOUT_MS,
          });
          return { firstStage, lane, tries: r.tries };
        }),
      ]);
      rows.push({
        rate_asked: rate,
        flood_pps: sent.pps,
        flood_sent: sent.sent,
        first_stage_elements: during.firstStage,
        flood_lane_elements: during.lane,
        legit_opened: during.tries.filter((t) => t.result === 'open').length,
        legit_tries: during.tries.length,
      });
      await sleep(2500); // the flood lane empties before the next rate
    }
    const withstood = rows.filter((r) => r.legit_opened === r.legit_tries).map((r) => r.flood_pps);
    return [
      {
        scenario: 'first-knock-flood',
        tool: 'sesame',
        figures: {
          set_size: SET_SIZE,
          flood_sources: FLOOD.blocks.length * FLOOD.sources,
          highest_rate_all_in_pps: withstood.length ? Math.max(...withstood) : 0,
          rates: rows,
        },
        notes: [
          `before each rate the first stage is filled with ${SET_SIZE} forged sources; the flood's own sources are others, so all of it lands in the flood lane`,
          'flood_lane_elements is one sample 2 s into the flood; expired entries count until the kernel collects them (every second)',
        ],
      },
    ];
  });
}

async function setSize(b: BenchLab, set: string): Promise<number> {
  const r = await b.lab.run(b.lab.server, 'nft', ['-j', 'list', 'set', 'inet', 'sesame', set], { timeoutMs: 60_000 });
  try {
    return (JSON.parse(r.stdout).nftables?.[1]?.set?.elem ?? []).length;
  } catch {
    return -1;
  }
}
