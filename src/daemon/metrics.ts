import type { Logger } from '../core/contracts.js';
import { createServer, type Server } from 'node:http';
import type { DaemonEventKind, DaemonEventMap } from './daemon-events.js';
import { grantLabels, refusalLabels, runLabels } from './metric-labels.js';

export interface MetricsOptions {
  readonly listen: { readonly host: string; readonly port: number };
  /** The configured door names (label values are limited to them). */
  readonly doors: () => readonly string[];
  /** Grants in the kernel now, read at every scrape: the kernel is the truth, not the daemon's book. */
  readonly listGrants: () => Promise<readonly { readonly door: string }[]>;
  readonly logger: Logger;
}

/** The event kinds a counter counts; ends are not (`sesame_grants_open` reads the kernel at each scrape). */
export type CountedKind = Exclude<DaemonEventKind, 'revoked'>;

/** One counting method per counted event kind; metrics-wiring.ts subscribes each to the daemon's events. */
export type MetricCounters = { readonly [K in CountedKind]: (e: DaemonEventMap[K]) => void };

export interface Metrics extends MetricCounters {
  /** The exposition text, as a scrape gets it. */
  text(): Promise<string>;
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
    granted: (e) => knocks.inc(grantLabels(e)),
    refused: (e) => refused.inc(refusalLabels(e, new Set(opts.doors()))),
    ran: (e) => runs.inc(runLabels(e, new Set(opts.doors()))),
    reloaded: (e) => reloads.inc({ result: e.result }),
    nflog(e) {
      if (e.what === 'packet') nflog.inc();
      // ENOBUFS: the kernel dropped events (the socket overran)
      else if (e.what === 'overrun' || /ENOBUFS|No buffer space/i.test(e.reason ?? '')) lost.inc();
      else invalid.inc();
    },
    text: () => registry.metrics(),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
