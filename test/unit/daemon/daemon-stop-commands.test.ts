import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseConfig } from '../../../src/config/load-config.js';
import type { Plan, SequenceDoor } from '../../../src/core/door.js';
import type { LoggedPacket } from '../../../src/netfilter/nflog-codec.js';
import { fakePackets as packets, FakeKernel, killed, recordingLogger, startDaemon } from './daemon-fakes.js';

const door = (dir: string, stop = `echo stop %IP% >> ${join(dir, 'ran')}`): SequenceDoor => ({
  kind: 'sequence',
  name: 'web',
  knock: { ports: [{ port: 7000, proto: 'tcp' }], flags: { set: ['syn'], clear: [] }, withinMs: 5000 },
  open: [],
  forMs: 10_000,
  reply: 'drop',
  run: { start: `echo start %IP% >> ${join(dir, 'ran')}`, stop },
});
const plan = (doors: SequenceDoor[]): Plan => ({ doors, nflogGroup: 1, setSize: 16, scanGuard: null, source: 'test' });

const ran = (dir: string) => {
  try {
    return readFileSync(join(dir, 'ran'), 'utf8').trim().split('\n');
  } catch {
    return [];
  }
};
const journal = (dir: string) => readFileSync(join(dir, 'grants.journal'), 'utf8');
const settle = () => new Promise((r) => setTimeout(r, 300));

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-daemon-'));
  const clock = { now: 1_000_000 };
  return { dir, clock, kernel: new FakeKernel(clock), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('door commands across a crash', () => {
  test('a stop that came due while sesame was down (kill -9) runs as soon as it starts again', async () => {
    const { dir, clock, kernel, cleanup } = setup();
    try {
      const src = packets();
      const first = await startDaemon(() => plan([door(dir)]), kernel, dir, clock, src);
      kernel.grants.push({ door: 'web', family: 4, address: '198.18.0.10', end: clock.now + 10_000 });
      src.open('web', '198.18.0.10');
      await first.commandsDone();
      assert.deepEqual(ran(dir), ['start 198.18.0.10']);
      killed(first);
      clock.now += 60_000;
      const second = await startDaemon(() => plan([door(dir)]), kernel, dir, clock);
      await second.commandsDone();
      assert.deepEqual(ran(dir), ['start 198.18.0.10', 'stop 198.18.0.10']);
      await second.stop(false);
      assert.equal(journal(dir), '', 'nothing left pending');
    } finally {
      cleanup();
    }
  });

  test('with a stop command start runs once per grant; without one, on every knock (knockd door pairs)', async () => {
    const { dir, clock, kernel, cleanup } = setup();
    try {
      const src = packets();
      const noStop = { ...door(dir), name: 'web', run: { start: `echo start %IP% >> ${join(dir, 'ran')}` } };
      const d = await startDaemon(() => plan([noStop]), kernel, dir, clock, src);
      src.open('web', '198.18.0.12');
      await d.commandsDone();
      src.open('web', '198.18.0.12');
      await d.stop(false);
      assert.deepEqual(ran(dir), ['start 198.18.0.12', 'start 198.18.0.12']);
    } finally {
      cleanup();
    }
  });

  test('regression: no stop runs early while the kernel cannot be asked (a failing nft list is not "no grants")', async () => {
    const { dir, clock, kernel, cleanup } = setup();
    try {
      const src = packets();
      const log = recordingLogger();
      const d = await startDaemon(() => plan([door(dir)]), kernel, dir, clock, src, { logger: log });
      kernel.grants.push({ door: 'web', family: 4, address: '198.18.0.13', end: clock.now + 60_000 });
      src.open('web', '198.18.0.13');
      kernel.listError = new Error('nft -j list set inet sesame web_open_4 failed (exit 1): Operation not permitted');
      clock.now += 10_000; // the daemon's own end time is up; the kernel still holds the grant
      await settle();
      await d.commandsDone();
      assert.deepEqual(ran(dir), ['start 198.18.0.13'], 'no stop while the listing fails');
      assert.ok(log.events.some((e) => e.event === 'grant-check-failed'));
      kernel.listError = undefined;
      clock.now += 60_000; // now the kernel has expired it too
      await settle();
      await d.commandsDone();
      assert.deepEqual(ran(dir), ['start 198.18.0.13', 'stop 198.18.0.13']);
      await d.stop(false);
    } finally {
      cleanup();
    }
  });
});

describe('stop commands run only for doors in the loaded config', () => {
  test('regression: a planted state entry for a door that does not exist is refused and logged, not run', async () => {
    const { dir, clock, kernel, cleanup } = setup();
    try {
      const planted = {
        door: 'ghost',
        family: 4,
        address: '198.18.0.66',
        until: 1,
        stop: `touch ${join(dir, 'pwned')}`,
      };
      writeFileSync(join(dir, 'grants.journal'), `${JSON.stringify({ open: planted })}\n`, { mode: 0o600 });
      const log = recordingLogger();
      const d = await startDaemon(() => plan([door(dir)]), kernel, dir, clock, packets(), { logger: log });
      await d.stop(false);
      assert.deepEqual(ran(dir), []);
      assert.throws(() => readFileSync(join(dir, 'pwned')), /ENOENT/, 'the planted command did not run');
      const refused = log.events.find((e) => e.event === 'stop-refused');
      assert.equal(refused?.level, 'error');
      assert.equal(refused?.fields.command, planted.stop);
      assert.match(String(refused?.fields.reason), /door "ghost" is not in the loaded config/);
      assert.equal(journal(dir), '', 'the refused entry is not kept');
    } finally {
      cleanup();
    }
  });

  test('an entry for an existing door whose stop command is not the recorded one is refused too', async () => {
    const { dir, clock, kernel, cleanup } = setup();
    try {
      const planted = { door: 'web', family: 4, address: '198.18.0.67', until: 1, stop: `touch ${join(dir, 'pwned')}` };
      writeFileSync(join(dir, 'grants.journal'), `${JSON.stringify({ open: planted })}\n`, { mode: 0o600 });
      const log = recordingLogger();
      const d = await startDaemon(() => plan([door(dir)]), kernel, dir, clock, packets(), { logger: log });
      await d.stop(false);
      assert.throws(() => readFileSync(join(dir, 'pwned')), /ENOENT/);
      assert.match(
        String(log.events.find((e) => e.event === 'stop-refused')?.fields.reason),
        /no longer has this stop command/,
      );
    } finally {
      cleanup();
    }
  });

  test('a door removed by a reload: its pending stop is refused and logged with the command to run by hand', async () => {
    const { dir, clock, kernel, cleanup } = setup();
    try {
      const src = packets();
      const first = await startDaemon(() => plan([door(dir)]), kernel, dir, clock, src);
      kernel.grants.push({ door: 'web', family: 4, address: '198.18.0.11', end: clock.now + 10_000 });
      src.open('web', '198.18.0.11');
      await first.stop(false);
      clock.now += 60_000;
      const log = recordingLogger();
      const second = await startDaemon(() => plan([]), kernel, dir, clock, packets(), { logger: log });
      await second.stop(false);
      assert.deepEqual(ran(dir), ['start 198.18.0.11']);
      const refused = log.events.find((e) => e.event === 'stop-refused');
      assert.equal(refused?.fields.command, `echo stop 198.18.0.11 >> ${join(dir, 'ran')}`);
    } finally {
      cleanup();
    }
  });
});

describe('one-time doors', () => {
  test('two knocks of the same sequence before the swap lands spend one line, not two', async () => {
    const { dir, clock, kernel, cleanup } = setup();
    let after = async () => {};
    try {
      const file = join(dir, 'sequences');
      writeFileSync(file, ' 7001,7002\n 7101,7102\n 7201,7202\n');
      const src = packets();
      const daemon = await startDaemon(
        () => parseConfig(`doors:\n  ot:\n    knock: { one_time: ${JSON.stringify(file)} }\n    open: [80]\n`),
        kernel,
        dir,
        clock,
        src,
      );
      after = () => daemon.stop(false);
      for (const address of ['198.18.0.10', '198.18.0.11']) {
        src.emit('packet', { prefix: 'sesame open ot #1', family: 4, source: address } as LoggedPacket);
      }
      await settle();
      assert.equal(readFileSync(file, 'utf8'), '#7001,7002\n 7101,7102\n 7201,7202\n');
    } finally {
      await after();
      cleanup();
    }
  });
});
