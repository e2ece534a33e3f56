import { createServer, type Server } from 'node:http';
import type { GrantEvent } from '../sources/door-source.js';
import type { Logger } from './logger.js';
import { metricFor } from './metric-events.js';

export interface MetricsOptions {
  readonly listen: { readonly host: string; readonly port: number };
  /** The configured door names (label values are limited to them). */
  readonly doors: () => readonly string[];
  /** Grants in the kernel now, read at every scrape: the kernel is the truth, not the daemon's book. */
  readonly listGrants: () => Promise<readonly { readonly door: string }[]>;
  readonly logger: Logger;
}

/** What the daemon feeds the metrics with. */
export interface Metrics {
  /** Every log event (refusals, command runs, reloads are counted from these). */
  observe(event: string, fields: Record<string, unknown>): void;
  granted(e: GrantEvent): void;
  nflogPacket(): void;
  /** An NFLOG read problem; ENOBUFS means the kernel dropped events (the socket overran). */
  nflogProblem(reason: string): void;
  close(): Promise<void>;
}

/**
 * Serves Prometheus `/metrics` on its own listener. prom-client is loaded here and only here,
 * so a daemon without `metrics:` never pays its memory.
 */
export async function startMetrics(opts: MetricsOptions): Promise<Metrics> {
  const prom = await import('prom-client');
  const registry = new prom.Registry();
  prom.collectDefaultMetrics({ register: registry });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new prom.Counter<L>({ name, help, labelNames, registers: [registry] });
  const knocks = counter(
    'sesame_knocks_completed_total',
    'Grants made: kernel knocks (via="knock") and daemon-side doors',
    ['door', 'via'],
  );
  const refused = counter('sesame_knocks_refused_total', 'Web, token and SPA knocks refused, by reason', [
    'door',
    'source',
    'reason',
  ]);
  const runs = counter('sesame_run_commands_total', 'Door `run` commands run, by result', ['door', 'which', 'result']);
  const reloads = counter('sesame_reloads_total', 'Config reloads (SIGHUP), by result', ['result']);
  const nflog = counter('sesame_nflog_events_total', 'NFLOG events received', []);
  const lost = counter(
    'sesame_nflog_lost_total',
    'NFLOG read errors where the kernel dropped events (ENOBUFS overruns)',
    [],
  );
  const invalid = counter('sesame_nflog_invalid_total', 'NFLOG messages that could not be decoded', []);
  new prom.Gauge({
    name: 'sesame_grants_open',
    help: 'Grants open now, read from the kernel at each scrape',
    labelNames: ['door'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const door of opts.doors()) this.set({ door }, 0);
      for (const g of await opts.listGrants()) this.inc({ door: g.door });
    },
  });

  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err) => {
        opts.logger.log('warn', 'metrics-failed', { reason: String(err?.message ?? err) });
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n');
      },
    );
  });
  server.headersTimeout = 5000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listen.port, opts.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  opts.logger.log('info', 'metrics-listening', { listen: `${opts.listen.host}:${opts.listen.port}`, path: '/metrics' });

  return {
    observe(event, fields) {
      const u = metricFor(event, fields, new Set(opts.doors()));
      if (u?.counter === 'refused') refused.inc(u.labels);
      else if (u?.counter === 'runs') runs.inc(u.labels);
      else if (u?.counter === 'reloads') reloads.inc(u.labels);
    },
    granted(e) {
      const via = /^[a-z]{1,16}$/.test(e.via) ? e.via : 'other';
      knocks.inc({ door: e.door, via });
    },
    nflogPacket: () => nflog.inc(),
    nflogProblem(reason) {
      if (/ENOBUFS|No buffer space/i.test(reason)) lost.inc();
      else invalid.inc();
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
