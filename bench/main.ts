#!/usr/bin/env node
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { latencySvg, plotRows } from './latency-plot.js';
import { markdownTable } from './report.js';
import type { BenchContext, Scenario } from './result.js';
import { concurrency } from './scenarios/concurrency.js';
import { firstKnockFlood } from './scenarios/first-knock-flood.js';
import { fleet } from './scenarios/fleet.js';
import { footprint } from './scenarios/footprint.js';
import { knockToOpen } from './scenarios/knock-to-open.js';
import { noise } from './scenarios/noise.js';
import { sharedLogin } from './scenarios/shared-login.js';
import { spa } from './scenarios/spa.js';
import { spaStanzas } from './scenarios/spa-stanzas.js';
import { stateBound } from './scenarios/state-bound.js';
import { users } from './scenarios/users.js';
import { webKnock } from './scenarios/web-knock.js';
import { runScenarios } from './run-scenarios.js';
import { has, TOOLS, type ToolName } from './tools.js';

/**
 * `npm run bench [-- --quick] [--only a,b] [--out DIR]`: builds lab namespaces, runs every
 * scenario for sesame and Debian's knockd on the identical door, prints one JSON object per
 * scenario and tool, then a Markdown table; writes both to bench/results/ (or DIR).
 */
const SCENARIOS: Record<string, Scenario> = {
  'knock-to-open': knockToOpen,
  concurrency,
  noise,
  'state-bound': stateBound,
  'first-knock-flood': firstKnockFlood,
  footprint,
  'web-knock': webKnock,
  'shared-login': sharedLogin,
  fleet,
  spa,
  'spa-stanzas': spaStanzas,
  users,
};

const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      `usage: npm run bench -- [--quick] [--only ${Object.keys(SCENARIOS).join(',')}] [--out DIR]\n`,
    );
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write(
      'bench: run as root: it builds network namespaces, loads nftables rules and sends spoofed packets inside them\n',
    );
    return 1;
  }
  const missing = ['ip', 'nft', 'iptables', 'python3'].filter((t) => !has(t));
  if (missing.length) {
    process.stderr.write(`bench: missing ${missing.join(', ')}; run ./dev.sh bench to install what it needs\n`);
    return 1;
  }
  const only =
    values.only
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ?? Object.keys(SCENARIOS);
  const unknown = only.filter((s) => !(s in SCENARIOS));
  if (unknown.length) {
    process.stderr.write(
      `bench: unknown scenario ${unknown.join(', ')}; expected one of ${Object.keys(SCENARIOS).join(', ')}\n`,
    );
    return 2;
  }
  const tools: ToolName[] = TOOLS.filter((t) => t !== 'knockd' || has('/usr/sbin/knockd'));
  const notes = tools.includes('knockd') ? [] : ['knockd is not installed (apt install knockd): sesame only'];
  const started = Date.now();
  const ctx: BenchContext = {
    quick: values.quick ?? false,
    tools,
    log: (line) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${line}\n`),
  };

  const { results, failed } = await runScenarios(SCENARIOS, only, ctx, (line) => process.stdout.write(`${line}\n`));

  const run = {
    date: new Date().toISOString(),
    quick: ctx.quick,
    seconds: Math.round((Date.now() - started) / 1000),
    host: {
      kernel: sh('uname', ['-r']),
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      node: process.version,
      nft: sh('nft', ['--version']),
    },
    notes,
    results,
  };
  const table = markdownTable(run);
  const dir = values.out ?? RESULTS_DIR;
  mkdirSync(dir, { recursive: true });
  const stamp = run.date.replace(/[:]/g, '-').replace(/\.\d+Z$/, 'Z');
  const file = join(dir, `${stamp}${ctx.quick ? '-quick' : ''}.json`);
  writeFileSync(file, `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(join(dir, 'latest.md'), table);
  const rows = plotRows(results);
  if (rows.length)
    writeFileSync(
      join(dir, 'latency.svg'),
      latencySvg(rows, {
        title: `knock → connected, per try (${ctx.quick ? 'quick run' : 'full run'}, ${run.date.slice(0, 10)}, ${run.host.cpus} CPU)`,
        subtitle:
          'from the last knock packet, HTTP request or SPA packet to an established connection; each try from a new address',
      }),
    );
  process.stdout.write(`\n${table}`);
  ctx.log(`done in ${run.seconds} s; results in ${file}`);
  return failed ? 1 : 0;
}

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`bench: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  },
);
