import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { doorLab } from './door-lab.js';
import { e2eSkip, eventually, sleep } from './support.js';

const lines = (file: string) => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

/** Resolves with the exit code, or null if the process is still running after `ms`. */
const exited = (child: import('node:child_process').ChildProcess, ms: number) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => resolve(null), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? -1);
    });
  });

describe('the daemon under attack (issue 14)', { skip: e2eSkip({ mkfifo: 'coreutils' }) }, () => {
  test('regression: --flush while a one-time swap is in flight leaves no table', async () => {
    const l = await doorLab('doors: {}\n', { clients: 1, daemon: false, services: [80] });
    try {
      const seq = join(l.dir, 'sequences');
      writeFileSync(seq, ' 7001,7002\n 7101,7102\n 7201,7202\n');
      writeFileSync(l.config, `doors:\n  ot:\n    knock: { one_time: ${seq} }\n    open: [80]\n    for: 60s\n`);
      const { startDaemon } = await import('../../src/lab/processes.js');
      const daemon = await startDaemon(l.lab, l.server, [
        '-c',
        l.config,
        '--state-dir',
        l.dir,
        '--flush',
        '--log-format',
        'json',
      ]);
      const [alice] = l.clients;
      await l.knock(alice, ['7001', '7002']);
      assert.equal(await l.connect(alice, 80), 'open', 'the knock opened the door (positive control)');
      await eventually(() => daemon.output().includes('"event":"open"'), 5000);
      daemon.kill('SIGTERM'); // the swap to line 2 is queued or running now
      assert.notEqual(await exited(daemon, 20_000), null, 'the daemon exits');
      // the behaviour under test: a swap still in flight (an nft child) must not bring the table back
      await sleep(500);
      const table = await l.lab.run(l.server, 'nft', ['list', 'table', 'inet', 'sesame']);
      assert.notEqual(table.code, 0, `the table is gone after --flush:\n${table.stdout}`);
      assert.equal(await l.connect(alice, 80), 'open', 'no table: nothing drops port 80 any more');
      assert.match(daemon.output(), /"event":"stopped","flushed":true/);
    } finally {
      l.destroy();
    }
  });

  test('regression: a FIFO in place of a watched log is refused, and SIGTERM still stops the daemon', async () => {
    const l = await doorLab('doors: {}\n', { clients: 1, daemon: false });
    try {
      const log = join(l.dir, 'access.log');
      writeFileSync(
        l.config,
        `doors:\n  weblog:\n    log:\n      file: ${log}\n      match: '^<HOST> .*GET /ssh'\n    open: [22]\n    for: 30s\n`,
      );
      const daemon = await l.startDaemon();
      execFileSync('mkfifo', [log]);
      const refused = await eventually(
        () => /"event":"log-read-failed".*not a regular file/.test(daemon.output()),
        10_000,
      );
      assert.equal(refused, true, daemon.output());
      daemon.kill('SIGTERM');
      assert.equal(await exited(daemon, 15_000), 0, `SIGTERM did not stop the daemon:\n${daemon.output()}`);
    } finally {
      l.destroy();
    }
  });
});
