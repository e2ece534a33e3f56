import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseConfig } from '../../../src/config/load-config.js';
import type { GrantEvent, RevokeEvent } from '../../../src/sources/door-source.js';
import type { OneTimeDoor, Plan } from '../../../src/core/door.js';
import { fakePackets, FakeKernel, recordingLogger, startDaemon } from './daemon-fakes.js';

const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

function oneTimeLab() {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-daemon-'));
  const file = join(dir, 'sequences');
  writeFileSync(file, ' 7001,7002\n 7101,7102\n 7201,7202\n');
  const load = () =>
    parseConfig(
      `doors:\n  ot:\n    knock: { one_time: ${JSON.stringify(file)} }\n    open: [80]\n  web:\n    knock: [6000, 7000]\n    open: [22]\n    for: 10s\n`,
    );
  return { dir, file, load, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('one queue for firewall changes', () => {
  test('regression: --flush while a one-time swap is in flight leaves no table (the swap lands first)', async () => {
    const lab = oneTimeLab();
    const clock = { now: 1_000_000 };
    const kernel = new FakeKernel(clock);
    try {
      const src = fakePackets();
      const daemon = await startDaemon(lab.load, kernel, lab.dir, clock, src);
      kernel.slowMs = 50;
      src.open('ot', '198.18.0.10', 1);
      await settle(10); // the first swap is now running in the fake kernel
      src.open('ot', '198.18.0.11', 2); // its swap waits for the first one
      await daemon.stop(true);
      assert.equal(kernel.table, false, 'no table after --flush');
      assert.equal(kernel.swaps.length, 2, 'both swaps did load (before the flush)');
      assert.equal(kernel.overlaps, 0, 'two firewall changes ran at once');
      assert.equal(readFileSync(lab.file, 'utf8'), '#7001,7002\n#7101,7102\n 7201,7202\n');
      await settle(100);
      assert.equal(kernel.table, false, 'nothing re-created the table later');
    } finally {
      lab.cleanup();
    }
  });

  test('regression: a reload and one-time swaps never load at the same time', async () => {
    const lab = oneTimeLab();
    const clock = { now: 1_000_000 };
    const kernel = new FakeKernel(clock);
    try {
      const src = fakePackets();
      const daemon = await startDaemon(lab.load, kernel, lab.dir, clock, src);
      kernel.slowMs = 20;
      src.open('ot', '198.18.0.10', 1);
      const reloaded = daemon.reload();
      src.open('ot', '198.18.0.11', 2);
      assert.equal(await reloaded, true);
      await settle(200);
      await daemon.stop(false);
      assert.equal(kernel.overlaps, 0, 'two firewall changes ran at once');
      assert.equal(readFileSync(lab.file, 'utf8'), '#7001,7002\n#7101,7102\n 7201,7202\n');
    } finally {
      lab.cleanup();
    }
  });

  test("a one-time swap replaces the used door's part only, from the loaded plan to the next line's", async () => {
    const lab = oneTimeLab();
    const clock = { now: 1_000_000 };
    const kernel = new FakeKernel(clock);
    try {
      const src = fakePackets();
      const daemon = await startDaemon(lab.load, kernel, lab.dir, clock, src);
      src.open('ot', '198.18.0.10', 1);
      src.open('ot', '198.18.0.11', 2);
      await settle(100);
      await daemon.stop(false);
      assert.equal(kernel.applies, 1, 'the whole table was loaded once, at start');
      const line = (p: Plan) => (p.doors.find((d) => d.name === 'ot') as OneTimeDoor).line;
      assert.deepEqual(
        kernel.swaps.map((s) => [s.door, line(s.before), line(s.after)]),
        [
          ['ot', 1, 2],
          ['ot', 2, 3],
        ],
      );
      assert.equal(kernel.swaps[1].before, kernel.swaps[0].after, 'the second swap starts from what the first loaded');
    } finally {
      lab.cleanup();
    }
  });

  test("when replacing the door's part fails, the whole table is loaded instead, and that is logged", async () => {
    const lab = oneTimeLab();
    const clock = { now: 1_000_000 };
    const kernel = new FakeKernel(clock);
    const log = recordingLogger();
    try {
      const src = fakePackets();
      const daemon = await startDaemon(lab.load, kernel, lab.dir, clock, src, { logger: log });
      kernel.swapError = new Error('nft -f - failed (exit 1): No such file or directory');
      src.open('ot', '198.18.0.10', 1);
      await settle(100);
      await daemon.stop(false);
      assert.equal(kernel.applies, 2, 'the start, then the whole-table fallback');
      assert.equal(log.events.find((e) => e.event === 'one-time-swap-whole-table')?.level, 'warn');
      assert.ok(log.events.some((e) => e.event === 'one-time-next' && e.fields.line === 2));
      assert.equal(readFileSync(lab.file, 'utf8'), '#7001,7002\n 7101,7102\n 7201,7202\n');
    } finally {
      lab.cleanup();
    }
  });

  test('a reload whose grant listing fails keeps the old ruleset and every grant', async () => {
    const lab = oneTimeLab();
    const clock = { now: 1_000_000 };
    const kernel = new FakeKernel(clock);
    try {
      const src = fakePackets();
      const daemon = await startDaemon(lab.load, kernel, lab.dir, clock, src);
      const grants: GrantEvent[] = [];
      daemon.events.on('granted', (e) => grants.push(e));
      kernel.grants.push({ door: 'web', family: 4, address: '198.18.0.12', end: clock.now + 10_000 });
      src.open('web', '198.18.0.12');
      kernel.listError = new Error('nft -j list table inet sesame failed (exit 1): Operation not permitted');
      assert.equal(await daemon.reload(), false, 'the reload is refused');
      assert.equal(kernel.applies, 1, 'nothing was loaded');
      assert.equal(kernel.grants.length, 1, 'the grant is still in the kernel');
      assert.equal(grants.length, 1);
      kernel.listError = undefined;
      await daemon.stop(false);
    } finally {
      lab.cleanup();
    }
  });
});

describe('the grant API sources use', () => {
  test('a grant with ports and a lifetime (SPA, fleet) reaches the kernel and every listener, with its origin', async () => {
    const lab = oneTimeLab();
    const clock = { now: 1_000_000 };
    const kernel = new FakeKernel(clock);
    try {
      const daemon = await startDaemon(lab.load, kernel, lab.dir, clock);
      const grants: GrantEvent[] = [];
      const ends: RevokeEvent[] = [];
      daemon.events.on('granted', (e) => grants.push(e));
      daemon.events.on('revoked', (e) => ends.push(e));
      daemon.events.on('granted', () => {
        throw new Error('a broken listener');
      });
      const web = lab.load().doors.find((d) => d.name === 'web')!;
      const ports = [{ port: 22, proto: 'tcp' as const }];
      await daemon.grant(web, '198.18.0.20', { via: 'fleet', forMs: 4000, ports, origin: 'node-b' });
      assert.deepEqual(kernel.grants, [
        { door: 'web', family: 4, address: '198.18.0.20', end: clock.now + 4000, ports },
      ]);
      assert.deepEqual(grants, [
        {
          door: 'web',
          family: 4,
          address: '198.18.0.20',
          via: 'fleet',
          ports,
          expiresAt: clock.now + 4000,
          renewed: false,
          origin: 'node-b',
        },
      ]);
      assert.equal(await daemon.revoke(web, '198.18.0.20'), true);
      assert.deepEqual(kernel.grants, []);
      assert.deepEqual(ends, [{ door: 'web', family: 4, address: '198.18.0.20', reason: 'revoked' }]);
      await daemon.stop(false);
      await assert.rejects(daemon.grant(web, '198.18.0.21', { via: 'http' }), /stopping/);
    } finally {
      lab.cleanup();
    }
  });
});
