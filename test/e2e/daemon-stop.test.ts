import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SESAME_BIN } from '../../src/lab/processes.js';
import { doorLab } from './door-lab.js';
import { e2eSkip, eventually } from './support.js';
import { writeSecret } from './web-lab.js';

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

  test('regression: an http.listen in use (EADDRINUSE) left the web door silently missing; now a JSON error names the door, serve exits non-zero and the firewall is untouched', async () => {
    const l = await doorLab('doors: {}\n', { clients: 1, daemon: false });
    let blocker: ChildProcess | undefined;
    try {
      const { file } = writeSecret(l.dir, 'ssh');
      writeFileSync(
        l.config,
        `http:\n  listen: 0.0.0.0:8443\ndoors:\n  ssh:\n    http: { token: totp, secret: ${file} }\n    open: [2222]\n`,
      );
      // another program holds the port in the server's namespace
      blocker = l.lab.spawn(l.server, process.execPath, [
        '-e',
        "require('net').createServer().listen(8443, '0.0.0.0', () => console.log('bound'))",
      ]);
      let bound = '';
      blocker.stdout?.on('data', (d) => (bound += d));
      assert.ok(await eventually(() => bound.includes('bound'), 10_000), 'the blocker holds 8443');
      const serve = l.lab.spawn(l.server, process.execPath, [
        SESAME_BIN,
        'serve',
        '-c',
        l.config,
        '--state-dir',
        l.dir,
        '--log-format',
        'json',
      ]);
      let out = '';
      serve.stdout?.on('data', (d) => (out += d));
      serve.stderr?.on('data', (d) => (out += d));
      const code = await exited(serve, 20_000);
      assert.ok(code !== null && code !== 0, `serve exits non-zero (${code}):\n${out}`);
      const failed = out
        .split('\n')
        .filter((line) => line.includes('"event":"source-failed"'))
        .map((line) => JSON.parse(line) as { level: string; door: string; reason: string });
      assert.equal(failed.length, 1, out);
      assert.equal(failed[0].door, 'ssh');
      assert.match(failed[0].reason, /EADDRINUSE/);
      assert.doesNotMatch(out, /"event":"started"/, 'it never claimed to be ready');
      assert.doesNotMatch(out, /\n\s+at /, 'no stack trace');
      const table = await l.lab.run(l.server, 'nft', ['list', 'table', 'inet', 'sesame']);
      assert.notEqual(table.code, 0, `no table was loaded:\n${table.stdout}`);
      // positive control: with the port free, the same config starts and loads its table
      blocker.kill();
      await exited(blocker, 5000);
      const daemon = await l.startDaemon();
      assert.ok(await eventually(() => /"event":"http-listening"/.test(daemon.output()), 10_000), daemon.output());
      const loaded = await l.lab.run(l.server, 'nft', ['list', 'table', 'inet', 'sesame']);
      assert.equal(loaded.code, 0, 'the table is loaded once the door can start');
    } finally {
      blocker?.kill();
      l.destroy();
    }
  });
});
