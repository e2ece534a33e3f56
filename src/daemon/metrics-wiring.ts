import type { Unsubscribe } from '../sources/door-source.js';
import type { DaemonEvents } from './daemon-events.js';
import type { MetricCounters } from './metrics.js';

/**
 * Subscribes the counters to the daemon's typed events: grants, refusals, door commands,
 * reloads and NFLOG reads. Metrics never read log lines, so renaming a log event can't zero a
 * counter (test/unit/daemon/metrics-wiring.test.ts sends every kind through). Returns the
 * unsubscribe.
 */
export function wireMetrics(events: DaemonEvents, metrics: MetricCounters): Unsubscribe {
  const off = [
    events.on('granted', (e) => metrics.granted(e)),
    events.on('refused', (e) => metrics.refused(e)),
    events.on('ran', (e) => metrics.ran(e)),
    events.on('reloaded', (e) => metrics.reloaded(e)),
    events.on('nflog', (e) => metrics.nflog(e)),
  ];
  return () => {
    for (const u of off) u();
  };
}
