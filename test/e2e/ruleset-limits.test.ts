import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLab } from '../../src/lab/netns.js';
import { connectFrom, sesame, startEchoServer } from '../../src/lab/processes.js';
import { loadDaemonless } from './daemonless.js';
import { e2eSkip } from './support.js';

/** `n` two-port sequence doors, door i knocking 10000+i then 20000+i and opening 30000+i. */
const manyDoors = (n: number) =>
  `doors:\n${[...Array(n).keys()]
    .map((i) => `  d${i}:\n    knock: [${10_000 + i}, ${20_000 + i}]\n    within: 20s\n    open: [${30_000 + i}]\n`)
    .join('')}`;

const ports = (from: number, n: number) => [...Array(n).keys()].map((i) => from + i);

describe('rulesets the kernel must accept', { skip: e2eSkip() }, () => {
  test('regression: 60 doors with the scan guard load, and the last door still opens (the guard was one rule over every door)', async () => {
    const lab = createLab({ clients: 1, name: 'limits' });
    try {
      await startEchoServer(lab, lab.server, [30_059]);
      await loadDaemonless(lab, lab.server, manyDoors(60), 'nft');
      const client = lab.clients[0];
      assert.equal((await connectFrom(lab, client, lab.server.v4, 30_059, 1000)).result, 'timeout');
      const r = await sesame(lab, client, ['knock', lab.server.v4, '10059', '20059']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await connectFrom(lab, client, lab.server.v4, 30_059, 2000)).result, 'open');
    } finally {
      lab.destroy();
    }
  });

  test('the largest doors a config allows load: a 32-port knock with a 32-port close, and a 10-hit door', async () => {
    const lab = createLab({ clients: 1, name: 'limits' });
    try {
      const yaml = `doors:
  big:
    knock: [${ports(40_000, 32).join(', ')}]
    close: [${ports(41_000, 32).join(', ')}]
    open: [80]
  hits10:
    hits: { port: 2222, count: 10, window: [1s, 5s] }
`;
      await loadDaemonless(lab, lab.server, yaml, 'nft');
    } finally {
      lab.destroy();
    }
  });
});
