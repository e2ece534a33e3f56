import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { SequenceDoor } from '../../../src/core/door.js';
import { CommandRunner } from '../../../src/daemon/command-runner.js';
import { relayNflog, type NflogSocketEvents, type PacketSource } from '../../../src/netfilter/nflog.js';
import { FakeKernel, fakePackets, quiet, recordingLogger, startDaemon } from './daemon-fakes.js';

/** A stand-in for /bin/sh that counts how many run at once. */
function fakeShell(ms = 2) {
  const s = { running: 0, max: 0, ran: [] as string[] };
  const run = async (command: string) => {
    s.running++;
    s.max = Math.max(s.max, s.running);
    await new Promise((r) => setTimeout(r, ms));
    s.ran.push(command);
    s.running--;
    return { code: 0, output: '', timedOut: false };
  };
  return { s, run };
}

describe('the door command runner', () => {
  test('regression: a flood of commands runs at most `limit` at once, and every one runs', async () => {
    const { s, run } = fakeShell();
    const runner = new CommandRunner(quiet, { limit: 4, run });
    for (let i = 0; i < 500; i++)
      void runner.submit({ door: 'web', which: 'start', address: `198.18.${i >> 8}.${i & 255}`, command: `c${i}` });
    await runner.drain();
    assert.equal(s.ran.length, 500);
    assert.equal(s.max, 4);
  });

  test("a stop never overtakes its own address's start", async () => {
    const order: string[] = [];
    const runner = new CommandRunner(quiet, {
      limit: 8,
      run: async (c) => {
        await new Promise((r) => setTimeout(r, c.startsWith('start') ? 20 : 1));
        order.push(c);
        return { code: 0, output: '', timedOut: false };
      },
    });
    void runner.submit({ door: 'web', which: 'start', address: '198.18.0.1', command: 'start a' });
    void runner.submit({ door: 'web', which: 'stop', address: '198.18.0.1', command: 'stop a' });
    await runner.drain();
    assert.deepEqual(order, ['start a', 'stop a']);
  });
});

describe('closing the command runner (daemon stop)', () => {
  test('regression: stop ran the whole backlog; close() finishes the running commands, drops the queued ones by door', async () => {
    const { s, run } = fakeShell(30);
    const runner = new CommandRunner(quiet, { limit: 4, run });
    const results: Promise<boolean>[] = [];
    for (let i = 0; i < 2000; i++)
      results.push(
        runner.submit({
          door: i % 2 ? 'web' : 'ssh',
          which: 'start',
          address: `198.18.${i >> 8}.${i & 255}`,
          command: `c${i}`,
        }),
      );
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(runner.active, 4, 'four running (positive control)');
    const dropped = await runner.close();
    assert.equal(s.ran.length, 4, 'the running four finished, nothing else started');
    assert.deepEqual(Object.fromEntries(dropped), { ssh: 998, web: 998 });
    const ran = await Promise.all(results);
    assert.equal(ran.filter(Boolean).length, 4, 'submit tells a dropped command from one that ran');
    assert.equal(await runner.submit({ door: 'ssh', which: 'stop', address: '198.18.0.1', command: 'late' }), false);
  });

  test("a dropped command behind its address's running one is dropped too, not run after it", async () => {
    const { s, run } = fakeShell(30);
    const runner = new CommandRunner(quiet, { limit: 8, run });
    const start = runner.submit({ door: 'web', which: 'start', address: '198.18.0.1', command: 'start a' });
    const stop = runner.submit({ door: 'web', which: 'stop', address: '198.18.0.1', command: 'stop a' });
    await new Promise((r) => setTimeout(r, 5));
    await runner.close();
    assert.deepEqual([await start, await stop], [true, false]);
    assert.deepEqual(s.ran, ['start a']);
  });
});

describe('a knock flood on a door with a stop command', () => {
  test('regression: 5,000 knocks are all handled, each stop made durable, with bounded commands', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-flood-'));
    const clock = { now: 1_000_000 };
    try {
      const door: SequenceDoor = {
        kind: 'sequence',
        name: 'web',
        knock: { ports: [{ port: 7000, proto: 'tcp' }], flags: { set: ['syn'], clear: [] }, withinMs: 5000 },
        open: [],
        forMs: 10_000,
        reply: 'drop',
        run: { start: 'start %IP%', stop: 'stop %IP%' },
      };
      const src = fakePackets();
      const { s, run } = fakeShell(0);
      const d = await startDaemon(
        () => ({ doors: [door], nflogGroup: 1, setSize: 65536, scanGuard: null, source: 't' }),
        new FakeKernel(clock),
        dir,
        clock,
        src,
        { runCommand: run, commandLimit: 8 },
      );
      for (let i = 0; i < 5000; i++) src.open('web', `198.19.${i >> 8}.${i & 255}`);
      await d.commandsDone();
      assert.equal(s.ran.length, 5000, 'every start ran');
      assert.ok(s.max <= 8, `${s.max} commands ran at once`);
      // every pending stop is durable
      const { GrantStore } = await import('../../../src/daemon/grant-store.js');
      await d.stop(false);
      assert.equal(new GrantStore(dir).open().grants.length, 5000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('NFLOG overruns', () => {
  test('regression: ENOBUFS from the netlink socket is an overrun, and the daemon logs it', async () => {
    const socket = new EventEmitter();
    const emitter = new EventEmitter() as PacketSource;
    const seen: string[] = [];
    emitter.on('overrun', () => seen.push('overrun'));
    emitter.on('invalid', (r) => seen.push(`invalid ${r}`));
    relayNflog(socket as unknown as NflogSocketEvents, emitter);
    socket.emit('error', Object.assign(new Error('recvmsg: No buffer space available'), { code: 'ENOBUFS' }));
    assert.deepEqual(seen, ['overrun']);

    const dir = mkdtempSync(join(tmpdir(), 'sesame-overrun-'));
    try {
      const clock = { now: 1_000_000 };
      const src = fakePackets();
      const log = recordingLogger();
      const d = await startDaemon(
        () => ({ doors: [], nflogGroup: 1, setSize: 16, scanGuard: null, source: 't' }),
        new FakeKernel(clock),
        dir,
        clock,
        src,
        { logger: log },
      );
      src.emit('overrun');
      await d.stop(false);
      const e = log.events.find((x) => x.event === 'nflog-overrun');
      assert.equal(e?.level, 'warn');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
