import { type BenchLab, SPOOF_BLOCKS, SPOOF_PER_BLOCK, withBenchLab } from '../bench-lab.js';
import type { Try } from '../knock-client.js';
import { clientJob, flood } from '../lab-jobs.js';
import { cpuBetween, sampleProc, slabKb } from '../proc-stats.js';
import type { BenchContext, BenchResult } from '../result.js';
import { DOOR } from '../tools.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** sesame's default `set_size`: the bound on every dynamic set. */
const SET_SIZE = 65536;

/**
 * State bound: a spoofed-source flood of first knocks (port 6000) from 98,304 addresses,
 * more than a set holds. Reports the kernel set sizes (sesame) or the daemon's memory
 * (knockd keeps knock state in its own heap), host slab growth, and whether a legitimate
 * knock opens right after the flood and again once the flood's knock state has timed out.
 */
export async function stateBound(ctx: BenchContext): Promise<BenchResult[]> {
  // --quick: a smaller flood; sending it and listing the sets' elements afterwards grow with it
  const count = ctx.quick ? 20_000 : 1_000_000;
  const out: BenchResult[] = [];
  for (const tool of ctx.tools) {
    ctx.log(`state-bound: ${tool}, ${count} spoofed first knocks`);
    out.push(
      await withBenchLab(tool, { clientAddresses: 3 }, async (b) => {
        const [during, early, late] = b.addresses(3);
        const before = sampleProc(b.tool.pid);
        const slabBefore = slabKb();
        const [sent, legitDuring] = await Promise.all([
          flood(b.lab, b.flooder, {
            target: b.target,
            ports: [DOOR.knock[0]],
            blocks: SPOOF_BLOCKS.map((s) => s.first),
            sources: SPOOF_PER_BLOCK,
            count,
            rate: 0,
            maxSeconds: ctx.quick ? 20 : 90,
          }),
          // mid-flood, once the sets have filled up
          sleep(ctx.quick ? 200 : 5000).then(() => legit(b, during)),
        ]);
        const slabAfter = slabKb();
        const sets = tool === 'sesame' ? await setSizes(b) : undefined;
        const after = sampleProc(b.tool.pid);
        const legitNow = await legit(b, early);
        // --quick skips the wait for `within` (11 s per tool), to stay under two minutes
        let legitLater = 'not measured (--quick)';
        let setsLater: Record<string, number> | undefined;
        if (!ctx.quick) {
          ctx.log(`state-bound: ${tool}, waiting ${DOOR.withinS + 1} s for the flood's knock state to time out`);
          await sleep((DOOR.withinS + 1) * 1000);
          legitLater = await legit(b, late);
          setsLater = tool === 'sesame' ? await setSizes(b) : undefined;
        }
        return {
          scenario: 'state-bound',
          tool,
          figures: {
            flood_sent: sent.sent,
            flood_pps: sent.pps,
            flood_seconds: sent.seconds,
            distinct_sources: Math.min(count, SPOOF_BLOCKS.length * SPOOF_PER_BLOCK),
            ...(sets ? { set_elements: sets, set_size_bound: SET_SIZE, set_elements_after_within: setsLater } : {}),
            slab_growth_kb: slabAfter - slabBefore,
            ...cpuBetween(before, after),
            rss_kb_before: before.rssKb,
            rss_kb_after: after.rssKb,
            legit_during_flood: legitDuring,
            legit_right_after: legitNow,
            legit_after_within: legitLater,
          },
          notes: [
            ...b.tool.notes,
            'slab_growth_kb is host-wide (/proc/meminfo Slab), so other activity on the host adds noise',
            ...(tool === 'sesame'
              ? [
                  'a full set refuses new elements: the knock that would add one makes no progress until entries time out (within)',
                ]
              : []),
          ],
        };
      }),
    );
  }
  return out;
}

/** Element counts of the web door's v4 knock sets and the scan-guard set. */
async function setSizes(b: BenchLab): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {};
  const r = await b.lab.run(b.lab.server, 'nft', ['-j', 'list', 'table', 'inet', 'sesame'], { timeoutMs: 60_000 });
  for (const item of JSON.parse(r.stdout).nftables ?? []) {
    if (item.set && /_4$/.test(item.set.name)) sizes[item.set.name] = (item.set.elem ?? []).length;
  }
  return sizes;
}

async function legit(b: BenchLab, from: string): Promise<string> {
  const { tries } = await clientJob<{ tries: Try[] }>(b.lab, b.client, {
    mode: 'tries',
    target: b.target,
    knock: [...DOOR.knock],
    port: DOOR.open,
    from: [from],
    spacingMs: 0,
    timeoutMs: 3500,
  });
  return `${tries[0].result} (${Math.round(tries[0].ms)} ms)`;
}
