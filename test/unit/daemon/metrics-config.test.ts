import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfig } from '../../../src/config/load-config.js';

describe('metrics config', () => {
  const base = 'doors: {}\n';
  test('absent: no metrics; a bare port listens on 127.0.0.1; an address is taken as written', () => {
    assert.equal(parseConfig(base).metrics, undefined);
    assert.deepEqual(parseConfig(`${base}metrics: {}\n`).metrics, { listen: { host: '127.0.0.1', port: 9731 } });
    assert.deepEqual(parseConfig(`${base}metrics: {listen: 9100}\n`).metrics, {
      listen: { host: '127.0.0.1', port: 9100 },
    });
    assert.deepEqual(parseConfig(`${base}metrics: {listen: "[::1]:9100"}\n`).metrics, {
      listen: { host: '::1', port: 9100 },
    });
  });

  test('a bad listen value is refused with file, line and field', () => {
    assert.throws(
      () => parseConfig(`${base}metrics:\n  listen: 99999\n`),
      /sesame\.yaml:3:\d+ metrics\.listen: expected an address and port/,
    );
    assert.throws(() => parseConfig(`${base}metrics:\n  port: 9100\n`), /metrics/);
  });
});

describe('the Grafana dashboard (docs/grafana-dashboard.json)', () => {
  test('is valid JSON and queries only metrics sesame exports', async () => {
    const { readFileSync } = await import('node:fs');
    const dash = JSON.parse(readFileSync(new URL('../../../../docs/grafana-dashboard.json', import.meta.url), 'utf8'));
    const source = readFileSync(new URL('../../../../src/daemon/metrics.ts', import.meta.url), 'utf8');
    const exprs: string[] = dash.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr));
    assert.ok(exprs.length >= 8);
    for (const expr of exprs) {
      for (const [name] of expr.matchAll(/\bsesame_[a-z_]+/g))
        assert.ok(source.includes(`'${name}'`), `${name} in ${expr}`);
    }
  });
});
