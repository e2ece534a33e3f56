import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load-config.js';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Plan, SequenceDoor } from '../../src/core/door.js';
import type { Daemon } from '../../src/daemon/daemon.js';
import type { LoggedPacket } from '../../src/sources/nflog-decode.js';
import { fakePackets as packets, FakeKernel, startDaemon } from './daemon-fakes.js';

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
/** kill -9: no stop(), nothing persisted beyond what was already written; its timer dies with it. */
const killed = (d: Daemon) => clearInterval((d as unknown as { ticker: NodeJS.Timeout }).ticker);
const settle = () => new Promise((r) => setTimeout(r, 300));

describe('door commands across a crash', () => {
  test('a stop that came due while sesame was down (kill -9) runs as soon as it starts again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-daemon-'));
    const clock = { now: 1_000_000 };
    const kernel = new FakeKernel(clock);
    try {
      const src = packets();
      const first = await startDaemon(() => plan([door(dir)]), kernel, dir, clock, src);
      kernel.grants.push({ door: 'web', family: 4, address: '198.18.0.10', end: clock.now + 10_000 });
      src.open('web', '198.18.0.10');
      await settle();
      assert.deepEqual(ran(dir), ['start 198.18.0.10']);
      killed(first);
      clock.now += 60_000;
      const second = await startDaemon(() => plan([door(dir)]), kernel, dir, clock);
      assert.deepEqual(ran(dir), ['start 198.18.0.10', 'stop 198.18.0.10']);
      await second.stop(false);
      assert.deepEqual(JSON.parse(readFileSync(join(dir, 'grants.json'), 'utf8')).grants, [], 'nothing left pending');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the stop recorded with the grant runs even if the door was edited or removed meanwhile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-daemon-'));
    const clock = { now: 1_000_000 };
    const kernel = new FakeKernel(clock);
    try {
      const src = packets();
      const first = await startDaemon(() => plan([door(dir)]), kernel, dir, clock, src);
      kernel.grants.push({ door: 'web', family: 4, address: '198.18.0.11', end: clock.now + 10_000 });
      src.open('web', '198.18.0.11');
      await settle();
      await first.stop(false);
      clock.now += 60_000;
      const second = await startDaemon(() => plan([]), kernel, dir, clock);
      await second.stop(false);
      assert.deepEqual(ran(dir), ['start 198.18.0.11', 'stop 198.18.0.11']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('with a stop command start runs once per grant; without one, on every knock (knockd door pairs)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-daemon-'));
    const clock = { now: 1_000_000 };
    const kernel = new FakeKernel(clock);
    try {
      const src = packets();
      const noStop = { ...door(dir), name: 'web', run: { start: `echo start %IP% >> ${join(dir, 'ran')}` } };
      const d = await startDaemon(() => plan([noStop]), kernel, dir, clock, src);
      src.open('web', '198.18.0.12');
      await settle();
      src.open('web', '198.18.0.12');
      await settle();
      await d.stop(false);
      assert.deepEqual(ran(dir), ['start 198.18.0.12', 'start 198.18.0.12']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('one-time doors', () => {
  test('two knocks of the same sequence before the swap lands spend one line, not two', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-daemon-'));
    const clock = { now: 1_000_000 };
    let after = async () => {};
    try {
      const file = join(dir, 'sequences');
      writeFileSync(file, ' 7001,7002\n 7101,7102\n 7201,7202\n');
      const src = packets();
      const daemon = await startDaemon(
        () => parseConfig(`doors:\n  ot:\n    knock: { one_time: ${JSON.stringify(file)} }\n    open: [80]\n`),
        new FakeKernel(clock),
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
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
