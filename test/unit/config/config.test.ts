import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfigFile, parseConfig } from '../../../src/config/load-config.js';
import { parseDuration } from '../../../src/core/duration.js';
import { parsePortSpec } from '../../../src/core/port-spec.js';
import { parseTcpFlags } from '../../../src/core/tcp-flags.js';
import type { SequenceDoor } from '../../../src/core/door.js';
import { configProblems } from './config-problems.js';

const problems = configProblems;

describe('sesame.yaml', () => {
  test('a knockd-style door gets knockd defaults: tcp, a bare syn, drop', () => {
    const plan = parseConfig('doors:\n  web:\n    knock: [6000, "7000/udp", "8000:udp"]\n    open: [80]\n');
    const door = plan.doors[0];
    assert.equal(door.kind, 'sequence');
    assert.deepEqual(door.kind === 'sequence' && door.knock.ports, [
      { port: 6000, proto: 'tcp' },
      { port: 7000, proto: 'udp' },
      { port: 8000, proto: 'udp' },
    ]);
    assert.equal(door.reply, 'drop');
    assert.equal(door.forMs, 60_000);
    assert.deepEqual(door.kind === 'sequence' && door.knock.flags, { set: ['syn'], clear: ['fin', 'rst', 'ack'] });
  });

  test('log.format is carried to the plan (serve --log-format overrides it)', () => {
    assert.equal(parseConfig('log: { format: json }\ndoors: {}\n').logFormat, 'json');
    assert.equal(parseConfig('doors: {}\n').logFormat, undefined);
  });

  test('a port out of range names file, line, column, field and value', () => {
    assert.deepEqual(problems('doors:\n  web:\n    knock: [6000, 70000]\n    open: [80]\n'), [
      'sesame.yaml:3:19 doors.web.knock[1]: port 70000 out of range 1..65535',
    ]);
  });

  test('an unknown key points at the key', () => {
    assert.deepEqual(problems('doors:\n  web:\n    knock: [1]\n    open: [80]\n    wihtin: 5s\n'), [
      'sesame.yaml:5:5 doors.web.wihtin: unknown key "wihtin"',
    ]);
  });

  test('a bad duration says what a duration looks like', () => {
    const [p] = problems('doors:\n  web:\n    knock: [1]\n    open: [80]\n    for: soon\n');
    assert.match(p, /^sesame\.yaml:5:10 doors\.web\.for: bad duration "soon"; expected e\.g\. 45s/);
  });

  test('every problem is reported, not just the first', () => {
    const ps = problems(
      'doors:\n  a:\n    knock: [0]\n    open: [80]\n  b:\n    knock: [1]\n    open: [80]\n    reply: maybe\n',
    );
    assert.equal(ps.length, 2);
    assert.match(ps[0], /doors\.a\.knock\[0\]: port 0 out of range/);
    assert.match(ps[1], /doors\.b\.reply: .*"drop"|doors\.b\.reply/);
  });

  test('a repeated knock port is accepted: it counts hit by hit (a new connection each), as in knockd', () => {
    const plan = parseConfig('doors:\n  web:\n    knock: [1000, 1000, 2000]\n    open: [80]\n');
    assert.deepEqual(
      (plan.doors[0] as SequenceDoor).knock.ports.map((p) => p.port),
      [1000, 1000, 2000],
    );
  });

  test('a knock port that another door protects is refused', () => {
    const [p] = problems(
      'doors:\n  a:\n    knock: [22, 23]\n    open: [80]\n  b:\n    knock: [5, 6]\n    open: [22]\n',
    );
    assert.match(p, /doors\.a\.knock\[0\]: port 22\/tcp is opened by door "b"/);
  });

  test('a door needs something to open', () => {
    const [p] = problems('doors:\n  a:\n    knock: [1, 2]\n');
    assert.match(p, /sesame\.yaml:3:5 doors\.a: a door needs `open` ports/);
  });

  test('interface door fails open: an interface this host lacks is refused at its line', () => {
    const global = configProblems('interface: nosuchnic0\ndoors:\n  w:\n    knock: [1, 2]\n    open: [80]\n');
    assert.match(
      global[0],
      /^sesame\.yaml:1:\d+ interface: no network interface "nosuchnic0" on this host \(it has .*\blo\b/,
    );
    const perDoor = configProblems('doors:\n  w:\n    knock: [1, 2]\n    open: [80]\n    interface: nosuchnic0\n');
    assert.match(perDoor[0], /^sesame\.yaml:5:\d+ doors\.w\.interface: no network interface "nosuchnic0"/);
    // the same check sees an interface that is there: lo is on every host
    const plan = parseConfig('interface: lo\ndoors:\n  w:\n    knock: [1, 2]\n    open: [80]\n');
    assert.equal(plan.doors[0].interface, 'lo');
  });

  test('YAML syntax errors are placed too', () => {
    const [p] = problems('doors:\n  web:\n    knock: [1, 2\n');
    assert.match(p, /^sesame\.yaml:\d+:\d+: /);
  });
});

describe('field parsers', () => {
  test('durations', () => {
    assert.equal(parseDuration('45s'), 45_000);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1500ms'), 1500);
    assert.equal(parseDuration(30), 30_000);
    assert.equal(parseDuration('30'), 30_000);
    assert.equal(parseDuration('5 minutes'), null);
    assert.equal(parseDuration(''), null);
    assert.equal(parseDuration(-1), null);
  });

  test('ports', () => {
    assert.deepEqual(parsePortSpec('7000:udp'), { port: 7000, proto: 'udp' });
    assert.deepEqual(parsePortSpec('7000/TCP'), { port: 7000, proto: 'tcp' });
    assert.match(String(parsePortSpec('7000/sctp')), /not supported/);
    assert.match(String(parsePortSpec(65536)), /out of range/);
  });

  test('knockd tcpflags with negation', () => {
    assert.deepEqual(parseTcpFlags('syn,!ack'), { set: ['syn'], clear: ['ack'] });
    assert.deepEqual(parseTcpFlags('SYN, ACK'), { set: ['syn', 'ack'], clear: [] });
    assert.match(String(parseTcpFlags('syn,foo')), /unknown tcp flag "foo"/);
  });
});

describe('file paths in a config', () => {
  test("a relative secret path is read from the config's folder, not the working directory", () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-paths-'));
    writeFileSync(join(dir, 'ssh.secret'), 'open-sesame-0123456789\n', { mode: 0o600 });
    writeFileSync(
      join(dir, 'sesame.yaml'),
      'doors:\n  s:\n    shared: { port: 443, secret: ssh.secret, redirect_to: 22 }\n    for: 30s\n',
    );
    const door = loadConfigFile(join(dir, 'sesame.yaml')).doors[0];
    assert.equal(door.kind === 'shared' && door.shared.secretFile, join(dir, 'ssh.secret'));
  });
});
