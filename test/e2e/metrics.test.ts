import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { type DoorLab, doorLab } from './door-lab.js';
import { e2eSkip, eventually } from './support.js';
import { writeSecret } from './web-lab.js';

const config = (secretFile: string, extra = '') => `http:
  listen: 0.0.0.0:8443
metrics:
  listen: 127.0.0.1:9731
doors:
  web:
    knock: [6000, 7000, 8000]
    within: 5s
    open: [80]
    for: 1m
  ssh-web:
    http: { token: hmac, secret: ${secretFile} }
    open: [22]
    for: 1m
${extra}`;

/** Scrapes /metrics inside the server namespace, as Prometheus on that host would. */
async function scrape(l: DoorLab): Promise<string> {
  const r = await l.lab.run(l.server, 'curl', ['-sS', '--max-time', '5', 'http://127.0.0.1:9731/metrics']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** The value of one sample, 0 when the series doesn't exist yet. */
function value(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '').split(',').filter(Boolean);
    if (want.every((w) => have.includes(w))) return Number(m[3]);
  }
  return 0;
}

describe('Prometheus metrics', { skip: e2eSkip({ curl: 'curl' }) }, () => {
  test('counters move with a knock, a refused web knock and reloads; grants are read from the kernel', async () => {
    const l = await doorLab('doors: {}\n', { services: [80, 22], daemon: false });
    try {
      const secret = writeSecret(l.dir, 'ssh-web');
      writeFileSync(l.config, config(secret.file));
      await l.startDaemon();
      await eventually(() => /metrics-listening/.test(l.daemon!.output()));

      const before = await scrape(l);
      assert.equal(value(before, 'sesame_knocks_completed_total', { door: 'web', via: 'knock' }), 0);
      assert.match(before, /^sesame_grants_open\{door="web"\} 0$/m, 'every door has a gauge, 0 before any knock');
      assert.match(before, /^process_resident_memory_bytes \d+/m, 'process metrics');

      // a knock: completed, and the grant is in the kernel
      await l.knock(l.clients[0], ['6000', '7000', '8000']);
      await eventually(() => /"event":"open"/.test(l.daemon!.output()));
      const afterKnock = await scrape(l);
      assert.equal(value(afterKnock, 'sesame_knocks_completed_total', { door: 'web', via: 'knock' }), 1);
      assert.equal(value(afterKnock, 'sesame_grants_open', { door: 'web' }), 1);
      assert.ok(value(afterKnock, 'sesame_nflog_events_total') >= 1, 'the NFLOG event was counted');

      // a refused web knock: a token that doesn't verify
      const bad = await l.lab.run(l.clients[1], 'curl', [
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '--max-time',
        '5',
        '--data-binary',
        's1.ssh-web.1.AAAA.BBBB',
        `http://${l.server.v4}:8443/knock/ssh-web`,
      ]);
      assert.equal(bad.stdout, '403');
      const afterRefusal = await scrape(l);
      assert.equal(
        value(afterRefusal, 'sesame_knocks_refused_total', { door: 'ssh-web', source: 'http', reason: 'bad-token' }),
        1,
      );

      // a reload that works, then one that is rejected (bad config)
      l.daemon!.kill('SIGHUP');
      await eventually(() => /"event":"reloaded"/.test(l.daemon!.output()), 10_000);
      writeFileSync(l.config, config(secret.file, '  broken:\n    knock: [70000]\n'));
      l.daemon!.kill('SIGHUP');
      await eventually(() => /"event":"reload-rejected"/.test(l.daemon!.output()), 10_000);
      const afterReload = await scrape(l);
      assert.equal(value(afterReload, 'sesame_reloads_total', { result: 'ok' }), 1);
      assert.equal(value(afterReload, 'sesame_reloads_total', { result: 'rejected' }), 1);
      assert.equal(value(afterReload, 'sesame_grants_open', { door: 'web' }), 1, 'the grant survived the reload');

      const notFound = await l.lab.run(l.server, 'curl', [
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        'http://127.0.0.1:9731/',
      ]);
      assert.equal(notFound.stdout, '404');
    } finally {
      l.destroy();
    }
  });

  test('without `metrics:` nothing listens on the metrics port; with it the same request is answered', async () => {
    const doors = 'doors:\n  web:\n    knock: [6000, 7000]\n    within: 5s\n    open: [80]\n    for: 1m\n';
    const l = await doorLab(doors, { services: [80] });
    try {
      const get = () => l.lab.run(l.server, 'curl', ['-s', '--max-time', '3', 'http://127.0.0.1:9731/metrics']);
      const r = await get();
      assert.equal(r.code, 7, 'connection refused');
      assert.doesNotMatch(l.daemon!.output(), /metrics-listening/);

      // positive control: with `metrics:` the same request gets an answer
      const first = l.daemon!;
      first.kill('SIGTERM');
      await new Promise((done) => (first.exitCode !== null ? done(null) : first.once('exit', done)));
      writeFileSync(l.config, `metrics:\n  listen: 127.0.0.1:9731\n${doors}`);
      const daemon = await l.startDaemon();
      assert.ok(await eventually(() => /metrics-listening/.test(daemon.output())), daemon.output());
      const answered = await get();
      assert.equal(answered.code, 0, answered.stderr);
      assert.match(answered.stdout, /^sesame_grants_open\{door="web"\} 0$/m);
    } finally {
      l.destroy();
    }
  });
});
