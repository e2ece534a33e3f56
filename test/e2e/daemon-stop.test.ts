import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { doorLab } from './door-lab.js';
import { e2eSkip, eventually } from './support.js';

/** Resolves with the exit code, or null if the process is still running after `ms`. */
const exited = (child: ChildProcess, ms: number) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => resolve(null), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? -1);
    });
  });

const KNOCKERS = 3000;

describe('stopping the daemon', { skip: e2eSkip() }, () => {
  test('regression: SIGTERM ran the whole command backlog (~4,900 queued, 50 min); now the running ones finish, the queued are dropped and counted', async () => {
    const l = await doorLab('doors: {}\n', { clients: 1, daemon: false });
    try {
      const log = join(l.dir, 'knocks.log');
      writeFileSync(log, '');
      writeFileSync(
        l.config,
        `doors:\n  slow:\n    log: { file: ${log}, match: '^<HOST> knock$' }\n    open: [8080]\n    for: 10m\n    run: { start: 'sleep 2' }\n`,
      );
      const daemon = await l.startDaemon();
      const of = (event: string) => daemon.output().match(new RegExp(`"event":"${event}"`, 'g'))?.length ?? 0;
      assert.ok(await eventually(() => of('log-watch') === 1, 10_000), daemon.output());
      // 3,000 addresses knock at once: each grant queues a 2 s start command, 8 run at a time
      let text = '';
      for (let i = 0; i < KNOCKERS; i++) text += `198.19.${i >> 8}.${i & 255} knock\n`;
      appendFileSync(log, text);
      assert.ok(await eventually(() => of('commands-backlog') === 1, 20_000), daemon.output().slice(-2000));
      assert.ok(await eventually(() => of('run-start') >= 1, 10_000), 'commands run (positive control)');
      const signalled = Date.now();
      daemon.kill('SIGTERM');
      // the running commands (2 s each) finish; the backlog (about 375 rounds of 2 s) is not run
      assert.equal(
        await exited(daemon, 20_000),
        0,
        `SIGTERM did not stop the daemon:\n${daemon.output().slice(-2000)}`,
      );
      const tookMs = Date.now() - signalled;
      const dropped = daemon
        .output()
        .split('\n')
        .filter((l) => l.includes('"event":"commands-dropped"'))
        .map((l) => JSON.parse(l) as { count: number; doors: Record<string, number>; finished: number });
      assert.equal(dropped.length, 1, `one summary line:\n${daemon.output().slice(-2000)}`);
      assert.ok(dropped[0].count > 1000, `the queued commands were dropped: ${JSON.stringify(dropped[0])}`);
      assert.deepEqual(Object.keys(dropped[0].doors), ['slow'], 'the line names the door');
      assert.ok(dropped[0].finished <= 8, 'only the running commands were finished');
      // every grant's command either ran or was counted as dropped
      assert.equal(of('run-start') + dropped[0].count, of('open'), `${tookMs} ms`);
      assert.match(daemon.output(), /"event":"stopped"/);
    } finally {
      l.destroy();
    }
  });
});
