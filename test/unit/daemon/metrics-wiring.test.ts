import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseConfig } from '../../../src/config/load-config.js';
import { DaemonEvents, type DaemonEventKind, type DaemonEventMap } from '../../../src/daemon/daemon-events.js';
import { grantLabels, refusalLabels, runLabels } from '../../../src/daemon/metric-labels.js';
import { type CountedKind, startMetrics } from '../../../src/daemon/metrics.js';
import { wireMetrics } from '../../../src/daemon/metrics-wiring.js';
import type { GrantContext } from '../../../src/sources/door-source.js';
import { fakePackets, FakeKernel, quiet, startDaemon } from './daemon-fakes.js';

/** One sample per series: the event, and the counter sample it must move by one. */
type Sample<K extends CountedKind> = { event: DaemonEventMap[K]; counter: string; labels: Record<string, string> };

/** Every counted kind (a kind added to DaemonEventMap fails to compile here until it has samples). */
const SAMPLES: { [K in CountedKind]: Sample<K>[] } = {
  granted: [
    {
      event: {
        door: 'web',
        family: 4,
        address: '198.18.0.10',
        via: 'knock',
        ports: [],
        expiresAt: 0,
        renewed: false,
      },
      counter: 'sesame_knocks_completed_total',
      labels: { door: 'web', via: 'knock' },
    },
  ],
  refused: [
    {
      event: { source: 'http', door: 'web', reason: 'bad-token' },
      counter: 'sesame_knocks_refused_total',
      labels: { door: 'web', source: 'http', reason: 'bad-token' },
    },
  ],
  ran: [
    {
      event: { door: 'web', which: 'stop', address: '198.18.0.10', ok: false },
      counter: 'sesame_run_commands_total',
      labels: { door: 'web', which: 'stop', result: 'failed' },
    },
  ],
  reloaded: [{ event: { result: 'rejected' }, counter: 'sesame_reloads_total', labels: { result: 'rejected' } }],
  nflog: [
    { event: { what: 'packet' }, counter: 'sesame_nflog_events_total', labels: {} },
    { event: { what: 'overrun' }, counter: 'sesame_nflog_lost_total', labels: {} },
    { event: { what: 'invalid', reason: 'undecodable' }, counter: 'sesame_nflog_invalid_total', labels: {} },
  ],
};

/** The kinds no counter counts, each with its reason. */
const UNCOUNTED: { [K in Exclude<DaemonEventKind, CountedKind>]: string } = {
  revoked: 'sesame_grants_open is read from the kernel at each scrape',
};

/** The value of one sample in the exposition text, 0 when the series doesn't exist yet. */
function value(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '').split(',').filter(Boolean);
    if (want.length === have.length && want.every((w) => have.includes(w))) return Number(m[3]);
  }
  return 0;
}

const emitAll = (events: DaemonEvents) => {
  for (const kind of Object.keys(SAMPLES) as CountedKind[])
    for (const s of SAMPLES[kind]) events.emit(kind, s.event as never);
};

describe('metrics from typed events', () => {
  test('every event kind reaches its counter, and only once wired', async () => {
    const metrics = await startMetrics({
      listen: { host: '127.0.0.1', port: 0 },
      doors: () => ['web'],
      listGrants: async () => [],
      logger: quiet,
    });
    try {
      const events = new DaemonEvents(quiet);
      emitAll(events);
      const unwired = await metrics.text();
      const off = wireMetrics(events, metrics);
      emitAll(events);
      const wired = await metrics.text();
      off();
      emitAll(events);
      const after = await metrics.text();
      for (const [kind, samples] of Object.entries(SAMPLES))
        for (const s of samples) {
          const what = `${kind} -> ${s.counter}${JSON.stringify(s.labels)}`;
          assert.equal(value(unwired, s.counter, s.labels), 0, `${what}: nothing counted before wiring`);
          assert.equal(value(wired, s.counter, s.labels), 1, `${what}: counted once wired`);
          assert.equal(value(after, s.counter, s.labels), 1, `${what}: not counted after unsubscribing`);
        }
      assert.deepEqual(Object.keys(UNCOUNTED), ['revoked']);
    } finally {
      await metrics.close();
    }
  });

  test('an attacker-chosen door or reason never becomes a new series', () => {
    const doors = new Set(['web', 'ssh-web']);
    assert.deepEqual(refusalLabels({ source: 'token', door: 'web', reason: 'replayed token' }, doors), {
      door: 'web',
      source: 'token',
      reason: 'replayed-token',
    });
    assert.deepEqual(
      refusalLabels({ source: 'http', door: 'x'.repeat(20), reason: 'token "s1.evil" from 198.18.0.9' }, doors),
      { door: 'other', source: 'http', reason: 'other' },
    );
    assert.deepEqual(refusalLabels({ source: 'http', reason: 'rate-limited' }, doors).door, 'other');
    assert.deepEqual(runLabels({ door: 'gone', which: 'start', address: '198.18.0.1', ok: true }, doors), {
      door: 'other',
      which: 'start',
      result: 'ok',
    });
    const grant = { door: 'web', family: 4, address: '198.18.0.1', ports: [], expiresAt: 0, renewed: false } as const;
    assert.equal(grantLabels({ ...grant, via: 'http' }).via, 'http');
    assert.equal(grantLabels({ ...grant, via: 'Evil via!' }).via, 'other');
  });
});

describe('the daemon tells its events', () => {
  test('NFLOG reads, grants, ends, door commands, refusals and reloads of each result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-daemon-'));
    const clock = { now: 1_000_000 };
    const kernel = new FakeKernel(clock);
    let broken = false;
    const load = () => {
      if (broken) throw new Error('sesame.yaml:3:5 doors.web.knock: bad');
      return parseConfig(
        'doors:\n  web:\n    knock: [6000, 7000]\n    open: [22]\n    for: 10s\n    run: { start: "true %IP%" }\n',
      );
    };
    try {
      const src = fakePackets();
      const daemon = await startDaemon(load, kernel, dir, clock, src, {
        runCommand: async () => ({ code: 0, output: '', timedOut: false }),
      });
      const seen: { [K in DaemonEventKind]?: DaemonEventMap[K][] } = {};
      for (const kind of ['granted', 'revoked', 'refused', 'ran', 'reloaded', 'nflog'] as const)
        daemon.events.on(kind, (e) => ((seen[kind] ??= []) as unknown[]).push(e));

      src.open('web', '198.18.0.10');
      src.emit('invalid', 'undecodable NFLOG packet message');
      src.emit('overrun');
      await daemon.commandsDone();
      await daemon.revoke(daemon.door('web')!, '198.18.0.10');
      // what a source's refusal goes through (sources get the daemon's grant context)
      (daemon as unknown as { context(): GrantContext }).context().refused({ source: 'spa', reason: 'bad-hmac' });
      assert.equal(await daemon.reload(), true);
      broken = true;
      assert.equal(await daemon.reload(), false, 'a bad config is rejected');
      broken = false;
      kernel.listError = new Error('nft -j list table inet sesame failed (exit 1): Operation not permitted');
      assert.equal(await daemon.reload(), false, 'nft could not be asked');
      kernel.listError = undefined;

      assert.deepEqual(
        seen.nflog?.map((e) => e.what),
        ['packet', 'invalid', 'overrun'],
      );
      assert.deepEqual(
        seen.granted?.map((e) => [e.door, e.address, e.via]),
        [['web', '198.18.0.10', 'knock']],
      );
      assert.deepEqual(
        seen.revoked?.map((e) => [e.door, e.address, e.reason]),
        [['web', '198.18.0.10', 'revoked']],
      );
      assert.deepEqual(seen.ran, [{ door: 'web', which: 'start', address: '198.18.0.10', ok: true }]);
      assert.deepEqual(seen.refused, [{ source: 'spa', reason: 'bad-hmac' }]);
      assert.deepEqual(
        seen.reloaded?.map((e) => e.result),
        ['ok', 'rejected', 'failed'],
      );
      assert.deepEqual(daemon.doorNames(), ['web']);
      await daemon.stop(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
