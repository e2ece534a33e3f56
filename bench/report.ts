import type { BenchResult } from './result.js';

/** Renders a run as a short Markdown table: one row per figure, sesame and knockd side by side. */
export function markdownTable(run: {
  date: string;
  quick: boolean;
  host: { kernel: string; cpus: number; cpu?: string };
  results: readonly BenchResult[];
}): string {
  const find = (scenario: string, tool: string) =>
    run.results.find((r) => r.scenario === scenario && r.tool === tool)?.figures;
  const rows: [string, (f: Record<string, any>) => string, string][] = [];
  const row = (scenario: string, label: string, cell: (f: Record<string, any>) => string, goal = '') =>
    rows.push([`${scenario}|${label}`, cell, goal]);

  row(
    'knock-to-open',
    'knock-to-open p50 / p95 / p99',
    (f) => `${ms(f.p50_ms)} / ${ms(f.p95_ms)} / ${ms(f.p99_ms)}`,
    'p99 ≤ RTT + 0.5 ms',
  );
  row('knock-to-open', 'first SYN accepted (no retransmit)', (f) => `${f.first_syn_pct} % of ${f.tries}`, '100 %');
  row('knock-to-open', 'veth RTT (TCP connect, open port) p50', (f) => ms(f.rtt_p50_ms), 'floor');
  row('concurrency', 'concurrent knockers opened', (f) => `${f.opened}/${f.knockers}`, '256/256');
  row('concurrency', 'cross-talk (bystanders opened)', (f) => `${f.cross_talk}/${f.bystanders}`, '0');
  row('concurrency', 'wall time, first knock → last open', (f) => ms(f.wall_ms));
  row(
    'noise',
    'legit success under SYN flood',
    (f) => `${f.success_pct} % (${f.opened}/${f.tries}), first SYN ${f.first_syn_pct} %`,
    '100 %',
  );
  row('noise', 'flood', (f) => `${f.flood_sent} SYNs, ${f.flood_sources} sources, ${f.flood_pps}/s`);
  row('noise', 'daemon CPU during flood (+ children)', (f) => `${f.cpu_s} s (+${f.child_cpu_s} s)`);
  row('noise', 'daemon RSS under flood', (f) => mb(f.rss_kb));
  row('state-bound', 'spoofed first knocks sent', (f) => `${f.flood_sent} from ${f.distinct_sources} addresses`);
  row(
    'state-bound',
    'largest knock set (bound)',
    (f) =>
      f.set_elements
        ? `${Math.max(...Object.values(f.set_elements as Record<string, number>))} (${f.set_size_bound})`
        : 'n/a (userspace)',
    'bounded',
  );
  row(
    'state-bound',
    'daemon RSS before → after flood',
    (f) => `${mb(f.rss_kb_before)} → ${mb(f.rss_kb_after)}`,
    'bounded',
  );
  row('state-bound', 'host slab growth', (f) => mb(f.slab_growth_kb));
  row('state-bound', 'legit knock during flood', (f) => f.legit_during_flood, 'opens');
  row(
    'state-bound',
    'legit knock right after / after `within`',
    (f) => `${f.legit_right_after} / ${f.legit_after_within}`,
  );
  const floodRates = (f: Record<string, any>) =>
    `set_size ${f.set_size}: ${(f.rates as Record<string, number>[]).map((r) => `${r.received_pps}/s ${r.legit_opened}/${r.legit_tries}`).join(', ')}`;
  row('first-knock-flood', 'legit knocks in during a forged first-knock flood, by rate received', floodRates, 'all in');
  row('first-knock-flood-default', 'the same, default set_size, as fast as the sender goes', floodRates, 'all in');
  row(
    'footprint',
    'daemon RSS idle (private + file pages)',
    (f) => `${mb(f.rss_kb_idle)} (${mb(f.rss_kb_idle_anon)} + ${mb(f.rss_kb_idle_file)})`,
    '≤ 45 MB',
  );
  row('footprint', 'a bare node process (the floor)', (f) => mb(f.node_rss_kb_idle));
  row('footprint', 'open events handled / sent', (f) => `${f.events_handled} / ${f.events_sent}`);
  row('footprint', 'daemon RSS after events (peak)', (f) => `${mb(f.rss_kb_after)} (${mb(f.rss_kb_peak)})`, '≤ 55 MB');
  row('footprint', 'daemon CPU for the events (+ children)', (f) => `${f.cpu_s} s (+${f.child_cpu_s} s)`);
  row('footprint', 'with node --lite-mode: RSS idle / after events, CPU', (f) =>
    f.lite_rss_kb_idle ? `${mb(f.lite_rss_kb_idle)} / ${mb(f.lite_rss_kb_after)}, ${f.lite_cpu_s} s` : '—',
  );
  row(
    'shared-login',
    'ssh login p50: direct / via nc / through 443: nc recipe / sesame knock --proxy',
    (f) =>
      `${ms(f.direct_p50_ms)} / ${ms(f.nc_proxy_p50_ms)} / ${ms(f.nc_recipe_443_p50_ms)} / ${ms(f.shared_443_p50_ms)}`,
    '443 ≤ direct + 80 ms',
  );
  row(
    'shared-login',
    'ProxyCommand start-up p50: sesame knock --proxy (bundle / compiled tree) / nc / bare node',
    (f) =>
      `${ms(f.proxy_start_p50_ms)} / ${ms(f.proxy_start_tree_p50_ms)} / ${ms(f.nc_start_p50_ms)} / ${ms(f.node_start_p50_ms)}`,
  );
  row(
    'fleet',
    'fleet: knock on A → open on C p50 / p99',
    (f) => `${ms(f.a_to_c_p50_ms)} / ${ms(f.a_to_c_p99_ms)}`,
    'p99 ≤ 20 ms',
  );
  row(
    'fleet',
    'fleet: grants across 3 nodes, held on every node (lost)',
    (f) =>
      `${f.grants_sent} in ${f.send_seconds} s (${f.grants_per_s_offered}/s) → ${Math.min(...(f.grants_held_per_node ?? [0]))} (${f.lost} lost), on every node ${f.converged_after_last_syn_ms} ms after the last SYN (${f.grants_per_s_applied_everywhere}/s)`,
    '1,000/s, 0 lost',
  );
  row(
    'fleet',
    'fleet: Redis back → outage grants on every node',
    (f) =>
      `${f.outage_grants} grants in ${f.redis_back_to_converged_ms} ms${f.outage_converged ? '' : ' (NOT converged)'}`,
  );

  const lines = [
    `### sesame vs knockd (${run.quick ? 'quick run, small N' : 'full run'}, ${run.date.slice(0, 10)}, Linux ${run.host.kernel}, ${run.host.cpus} CPU)`,
    '',
    '| figure | sesame | knockd | goal |',
    '|---|---|---|---|',
  ];
  for (const [key, cell, goal] of rows) {
    const [scenario, label] = key.split('|');
    const cells = ['sesame', 'knockd'].map((t) => {
      const f = find(scenario, t);
      return f && Object.keys(f).length ? cell(f) : '—';
    });
    if (cells.every((c) => c === '—')) continue;
    lines.push(`| ${label} | ${cells[0]} | ${cells[1]} | ${goal} |`);
  }
  lines.push(...spaTable(run.results));
  for (const r of run.results.filter(
    (x) => (x.scenario.startsWith('web-knock') && x.scenario !== 'web-knock-log') || x.tool === 'all',
  )) {
    const text = Object.keys(r.figures).length
      ? Object.entries(r.figures)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(', ')
      : (r.notes ?? []).join('; ');
    lines.push(`| ${r.scenario} (${r.tool}) | ${text} | | |`);
  }
  lines.push(...webKnockTable(run.results));
  return `${lines.join('\n')}\n`;
}

const ms = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? `${v} ms` : '—');
const mb = (kb: unknown) => (typeof kb === 'number' && Number.isFinite(kb) ? `${(kb / 1024).toFixed(1)} MB` : '—');

/** SPA rows: sesame and the stock fwknopd on the same access.conf stanza, in the same run. */
function spaTable(results: readonly BenchResult[]): string[] {
  const f = (tool: string) =>
    results.find((r) => r.scenario === 'spa' && r.tool === tool)?.figures as Record<string, any> | undefined;
  const verify = results.find((r) => r.scenario === 'spa-verify')?.figures as Record<string, any> | undefined;
  if (!f('sesame')) return [];
  const rows: [string, (x: Record<string, any>) => string, string][] = [
    [
      'stock client (send, connect at once): first SYN accepted',
      (x) =>
        `${x.first_syn_pct} % of ${x.tries}${x.kernel_nft_queue === false ? ' (kernel without nft queue: no SYN hold)' : ''}`,
      '100 %',
    ],
    ['stock client: packet → connected p50 / p99', (x) => `${ms(x.p50_ms)} / ${ms(x.p99_ms)}`, 'p99 ≤ RTT + 1 ms'],
    [
      "sesame's client (waits for the answer): first SYN accepted",
      (x) => (x.answered_first_syn_pct === undefined ? '—' : `${x.answered_first_syn_pct} % of ${x.tries}`),
      '100 %',
    ],
    [
      "sesame's client: packet → connected p50 / p99",
      (x) => (x.answered_p50_ms === undefined ? '—' : `${ms(x.answered_p50_ms)} / ${ms(x.answered_p99_ms)}`),
      'p99 ≤ RTT + 1 ms',
    ],
    ['veth RTT (TCP connect) p50', (x) => ms(x.rtt_p50_ms), 'floor'],
    [
      'valid packets while forged ones flood in',
      (x) =>
        `${x.flood_opened_pct} % opened (${x.flood_tries} tries), first SYN ${x.flood_first_syn_pct} %, p50 ${ms(x.flood_open_p50_ms)}`,
      'opens',
    ],
    ['forged flood', (x) => `${x.flood_sent} packets, ${x.flood_pps}/s`, '20,000/s'],
    ['daemon CPU during the flood (+ children)', (x) => `${x.cpu_s} s (+${x.child_cpu_s} s)`, ''],
  ];
  const out = ['', '| SPA figure | sesame | fwknopd 2.6.10 | goal |', '|---|---|---|---|'];
  for (const [label, cell, goal] of rows) {
    const cells = ['sesame', 'fwknopd'].map((t) => (f(t) ? cell(f(t) as Record<string, any>) : '—'));
    out.push(`| ${label} | ${cells[0]} | ${cells[1]} | ${goal} |`);
  }
  if (verify)
    out.push(
      `| packets verified per second, one core (valid / forged HMAC) | ${verify.valid_per_s} / ${verify.forged_per_s} | — | ≥ 50,000 forged |`,
    );
  return out;
}

/** Web knocks on one nginx and one lab: sesame's endpoint, sesame's log door, fail2ban's reverse ban. */
function webKnockTable(results: readonly BenchResult[]): string[] {
  const find = (scenario: string, tool: string) =>
    results.find((r) => r.scenario === scenario && r.tool === tool) as
      (BenchResult & { figures: Record<string, any> }) | undefined;
  const columns = [
    find('web-knock-open', 'sesame'),
    find('web-knock-log', 'sesame'),
    find('web-knock-log', 'fail2ban'),
  ];
  if (!columns[1]) return [];
  const cell = (r: (typeof columns)[number], text: (f: Record<string, any>) => string) =>
    r && Object.keys(r.figures).length ? text(r.figures) : r?.notes?.join('; ') || '—';
  const rows: [string, (f: Record<string, any>) => string][] = [
    ['request → connected p50 / p99', (f) => `${ms(f.open_p50_ms)} / ${ms(f.open_p99_ms)}`],
    ['tries connected', (f) => `${f.opened_pct} % of ${f.tries}`],
    [
      'first connect after the answer got through',
      // the endpoint's client connects once: connected in < 900 ms means its first SYN passed
      (f) =>
        f.first_syn_pct !== undefined
          ? `${f.first_syn_pct} %`
          : f.opened_pct === 100 && f.open_max_ms < 900
            ? '100 %'
            : '—',
    ],
  ];
  const out = [
    '',
    '| web knock | sesame endpoint (POST token) | sesame log door (nginx log) | fail2ban reverse ban (nginx log) |',
    '|---|---|---|---|',
  ];
  for (const [label, text] of rows) out.push(`| ${label} | ${columns.map((c) => cell(c, text)).join(' | ')} |`);
  return out;
}
