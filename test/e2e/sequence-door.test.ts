import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { connectFrom, sesame } from '../../src/lab/processes.js';
import { doorLab } from './door-lab.js';
import { e2eSkip, eventually, sleep } from './support.js';

const WEB = `doors:
  web:
    knock: [6000, 7000, 8000, 9000]
    within: 3s
    open: [80]
    for: 4s
    close: [3333]
`;

describe('port-sequence door: what a knocker sees', { skip: e2eSkip() }, () => {
  test('port 80 is filtered before knocking: a connect times out', async () => {
    const l = await doorLab(WEB, { services: [80] });
    try {
      assert.equal(await l.connect(l.clients[0], 80), 'timeout');
      await l.knock(l.clients[0], ['6000', '7000', '8000', '9000']);
      assert.equal(await l.connect(l.clients[0], 80), 'open', 'positive control: the same connect after a knock');
    } finally {
      l.destroy();
    }
  });

  test('with reply: reject, port 80 and the knock ports refuse fast instead', async () => {
    const l = await doorLab(WEB.replace('close: [3333]', 'reply: reject'), { services: [80] });
    try {
      // the probe times the connect itself, so a loaded machine's process start-up doesn't count
      for (const port of [80, 6000]) {
        const r = await connectFrom(l.lab, l.clients[0], l.server.v4, port, 3000);
        assert.equal(r.result, 'refused', `port ${port}`);
        assert.ok(r.ms < 500, `port ${port} refused in ${r.ms} ms, not after a timeout`);
      }
      await l.knock(l.clients[0], ['6000', '7000', '8000', '9000']);
      const opened = await connectFrom(l.lab, l.clients[0], l.server.v4, 80, 3000);
      assert.equal(opened.result, 'open', 'positive control: the same probe after a knock');
    } finally {
      l.destroy();
    }
  });

  test('the right sequence opens port 80 for the knocker only', async () => {
    const l = await doorLab(WEB, { services: [80] });
    try {
      const [alice, bob] = l.clients;
      await l.knock(alice, ['6000', '7000', '8000', '9000']);
      assert.equal(await l.connect(alice, 80), 'open');
      assert.equal(await l.connect(bob, 80), 'timeout', 'an address that did not knock stays closed');
      const log = await eventually(() => l.daemon!.output().includes('"event":"open"') && l.daemon!.output());
      assert.match(String(log), /"door":"web","address":"198\.18\.0\.10"/);
    } finally {
      l.destroy();
    }
  });

  test('a wrong order does not open', async () => {
    const l = await doorLab(WEB, { services: [80] });
    try {
      await l.knock(l.clients[0], ['6000', '8000', '7000', '9000']);
      assert.equal(await l.connect(l.clients[0], 80), 'timeout');
      await l.knock(l.clients[0], ['6000', '7000', '8000', '9000']);
      assert.equal(await l.connect(l.clients[0], 80), 'open', 'positive control: the right order opens');
    } finally {
      l.destroy();
    }
  });

  test('a knock slower than `within` does not open', async () => {
    const l = await doorLab(WEB, { services: [80] });
    try {
      await l.knock(l.clients[0], ['6000', '7000']);
      // the behaviour under test: the knock takes longer than `within` (3 s)
      await sleep(3300);
      await l.knock(l.clients[0], ['8000', '9000']);
      assert.equal(await l.connect(l.clients[0], 80), 'timeout');
      await l.knock(l.clients[0], ['6000', '7000', '8000', '9000']);
      assert.equal(await l.connect(l.clients[0], 80), 'open', 'positive control: the same knock within 3 s opens');
    } finally {
      l.destroy();
    }
  });

  test('a wrong knock port in the middle resets the sequence', async () => {
    const l = await doorLab(WEB, { services: [80] });
    try {
      await l.knock(l.clients[0], ['6000', '7000', '9000', '8000', '9000']);
      assert.equal(await l.connect(l.clients[0], 80), 'timeout');
      // ...and a fresh, correct sequence right after still works
      await l.knock(l.clients[0], ['6000', '7000', '8000', '9000']);
      assert.equal(await l.connect(l.clients[0], 80), 'open');
    } finally {
      l.destroy();
    }
  });

  test(
    'duplicate SYNs per knock (nc -z twice, nmap twice) still open',
    { skip: e2eSkip({ nc: 'netcat-openbsd', nmap: 'nmap' }) },
    async () => {
      // each nc waits 1 s on a dropped port: give the slow tools time
      const l = await doorLab(WEB.replace('within: 3s', 'within: 30s'), { services: [80] });
      try {
        const server = l.server.v4;
        for (const port of ['6000', '7000']) {
          for (let i = 0; i < 2; i++) await l.lab.run(l.clients[0], 'nc', ['-z', '-w', '1', server, port]);
        }
        for (const port of ['8000', '9000']) {
          // -Pn: no ping; each port twice (a knock port answers closed, so nmap itself sends one SYN)
          for (let i = 0; i < 2; i++) await l.lab.run(l.clients[0], 'nmap', ['-Pn', '-n', '-sS', '-p', port, server]);
        }
        assert.equal(await l.connect(l.clients[0], 80), 'open');
      } finally {
        l.destroy();
      }
    },
  );

  test('after `for` new connects fail, and a session opened during the grant stays alive', async () => {
    const l = await doorLab(WEB, { services: [80] });
    try {
      const alice = l.clients[0];
      await l.knock(alice, ['6000', '7000', '8000', '9000']);
      const knockedAt = Date.now();
      assert.equal(await l.connect(alice, 80), 'open', 'positive control: new connects work during the grant');
      const session = l.lab.spawn(alice, 'nc', [l.server.v4, '80']);
      let echoed = '';
      session.stdout!.on('data', (d) => {
        echoed += d;
      });
      session.stdin!.write('before\n');
      await eventually(() => echoed.includes('80:before'), 2000);
      // the behaviour under test: the grant's `for` (4 s) runs out
      await sleep(Math.max(0, knockedAt + 4500 - Date.now()));
      assert.equal(await l.connect(alice, 80), 'timeout', 'the grant expired in the kernel');
      session.stdin!.write('after\n');
      assert.ok(await eventually(() => echoed.includes('80:after'), 2000), 'the established session still answers');
      session.kill();
    } finally {
      l.destroy();
    }
  });

  test('the close sequence closes at once', async () => {
    const l = await doorLab(WEB, { services: [80] });
    try {
      const alice = l.clients[0];
      await l.knock(alice, ['6000', '7000', '8000', '9000']);
      assert.equal(await l.connect(alice, 80), 'open');
      await l.knock(alice, ['3333']);
      assert.equal(await l.connect(alice, 80), 'timeout');
    } finally {
      l.destroy();
    }
  });

  test('kill -9 of the daemon: doors still open for new knocks and grants still expire on time', async () => {
    const l = await doorLab(WEB, { services: [80] });
    try {
      const [alice, bob] = l.clients;
      await l.knock(alice, ['6000', '7000', '8000', '9000']);
      const openedAt = Date.now();
      l.daemon!.kill('SIGKILL');
      await new Promise((r) => l.daemon!.once('exit', r));
      await l.knock(bob, ['6000', '7000', '8000', '9000']);
      assert.equal(await l.connect(bob, 80), 'open', 'a new knock works without the daemon');
      assert.equal(await l.connect(alice, 80), 'open');
      // the behaviour under test: the grant's `for` (4 s) runs out with no daemon
      await sleep(Math.max(0, openedAt + 4300 - Date.now()));
      assert.equal(await l.connect(alice, 80), 'timeout', "alice's grant expired on time without the daemon");
    } finally {
      l.destroy();
    }
  });

  test('a restart of the daemon keeps a running grant, with its remaining time', async () => {
    const l = await doorLab(WEB.replace('for: 4s', 'for: 10s'), { services: [80] });
    try {
      const alice = l.clients[0];
      await l.knock(alice, ['6000', '7000', '8000', '9000']);
      const openedAt = Date.now();
      l.daemon!.kill('SIGTERM');
      await new Promise((r) => l.daemon!.once('exit', r));
      await l.startDaemon();
      assert.match(l.daemon!.output(), /"kept":1/);
      assert.equal(await l.connect(alice, 80), 'open', 'still open after the restart');
      // the behaviour under test: the grant ends at its original time (10 s after the knock)
      await sleep(Math.max(0, openedAt + 10300 - Date.now()));
      assert.equal(await l.connect(alice, 80), 'timeout', 'and it still ends at the original time');
    } finally {
      l.destroy();
    }
  });

  test('SIGHUP reloads: running grants stay, a new door works, a bad config is refused and changes nothing', async () => {
    const l = await doorLab(WEB.replace('for: 4s', 'for: 30s'), { services: [80, 8080] });
    try {
      const [alice, bob] = l.clients;
      await l.knock(alice, ['6000', '7000', '8000', '9000']);
      writeFileSync(
        l.config,
        `${WEB.replace('for: 4s', 'for: 30s')}  alt:\n    knock: [5001, 5002]\n    open: [8080]\n`,
      );
      l.daemon!.kill('SIGHUP');
      assert.ok(await eventually(() => l.daemon!.output().includes('"event":"reloaded"')), l.daemon!.output());
      assert.match(l.daemon!.output(), /"event":"reloaded","doors":\["web","alt"\],"kept":1/);
      assert.equal(await l.connect(alice, 80), 'open', 'the grant survived the reload');
      await l.knock(bob, ['5001', '5002']);
      assert.equal(await l.connect(bob, 8080), 'open', 'the new door works');

      const before = await l.nft(['list', 'table', 'inet', 'sesame']);
      writeFileSync(l.config, 'doors:\n  web:\n    knock: [6000]\n    open: [99999]\n');
      l.daemon!.kill('SIGHUP');
      assert.ok(await eventually(() => l.daemon!.output().includes('"event":"reload-rejected"')));
      assert.match(l.daemon!.output(), /open\[0\]: port 99999 out of range/);
      assert.equal(
        await l.nft(['list', 'table', 'inet', 'sesame']).then((t) => t.replace(/expires \S+/g, '')),
        before.replace(/expires \S+/g, ''),
      );
      assert.equal(await l.connect(alice, 80), 'open', 'still open after the refused reload');
    } finally {
      l.destroy();
    }
  });

  test('starting `sesame serve` twice does not stack rules', async () => {
    const l = await doorLab(WEB, { services: [80] });
    try {
      const before = await l.nft(['list', 'table', 'inet', 'sesame']);
      const second = await sesame(l.lab, l.server, ['serve', '-c', l.config, '--state-dir', l.dir], {
        timeoutMs: 10_000,
      });
      assert.notEqual(second.code, 0);
      assert.match(second.stderr, /NFLOG group 7331 is in use/);
      assert.equal(await l.nft(['list', 'table', 'inet', 'sesame']), before);
    } finally {
      l.destroy();
    }
  });

  test(
    'nmap -sS -p 1-10000 opens nothing and shows port 80 filtered',
    { skip: e2eSkip({ nmap: 'nmap' }) },
    async () => {
      const l = await doorLab(WEB.replace('within: 3s', 'within: 45s'), { services: [80] });
      try {
        const alice = l.clients[0];
        const scan = await l.lab.run(alice, 'nmap', ['-Pn', '-n', '-sS', '-T4', '-p', '1-10000', l.server.v4], {
          timeoutMs: 120_000,
        });
        assert.equal(scan.code, 0, scan.stderr);
        assert.match(scan.stdout, /80\/tcp\s+filtered/);
        assert.doesNotMatch(scan.stdout, /\bopen\b/);
        assert.equal(await l.connect(alice, 80), 'timeout', 'the scan did not open the door');
        assert.doesNotMatch(await l.nft(['list', 'set', 'inet', 'sesame', 'web_open_4']), /elements/);
        // positive control: after a knock the same two checks see a grant (from bob: the scan put
        // alice in the sweep guard, which holds her knocks back for 10 s)
        const bob = l.clients[1];
        await l.knock(bob, ['6000', '7000', '8000', '9000']);
        assert.equal(await l.connect(bob, 80), 'open');
        const set = await l.nft(['list', 'set', 'inet', 'sesame', 'web_open_4']);
        assert.match(set, new RegExp(`elements = \\{ ${bob.v4.replaceAll('.', '\\.')} `), set);
      } finally {
        l.destroy();
      }
    },
  );

  test('an IPv6 knock opens the door for that IPv6 address only', async () => {
    const l = await doorLab(WEB, { services: [80] });
    try {
      const [alice, bob] = l.clients;
      await l.knock(alice, ['-6', '6000', '7000', '8000', '9000'], 6);
      assert.equal(await l.connect(alice, 80, { family: 6 }), 'open');
      assert.equal(await l.connect(alice, 80, { family: 4 }), 'timeout', 'not her IPv4 address');
      assert.equal(await l.connect(bob, 80, { family: 6 }), 'timeout');
    } finally {
      l.destroy();
    }
  });

  test("Debian's knock client opens the door", { skip: e2eSkip({ knock: 'knockd' }) }, async () => {
    const l = await doorLab(WEB, { services: [80] });
    try {
      const r = await l.lab.run(l.clients[0], 'knock', ['-v', l.server.v4, '6000', '7000', '8000', '9000']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await l.connect(l.clients[0], 80), 'open');
    } finally {
      l.destroy();
    }
  });

  test('run.start and run.stop commands run with %IP%, stop when the grant ends', async () => {
    const l = await doorLab('doors: {}\n', { services: [80], daemon: false });
    try {
      const log = `${l.dir}/commands.log`;
      const yaml = WEB.replace(
        'close: [3333]',
        `run:\n      start: echo start %IP% >> ${log}\n      stop: echo stop %IP% >> ${log}`,
      ).replace('for: 4s', 'for: 2s');
      writeFileSync(l.config, yaml);
      await l.startDaemon();
      await l.knock(l.clients[0], ['6000', '7000', '8000', '9000']);
      const read = () => {
        try {
          return readFileSync(log, 'utf8').trim().split('\n');
        } catch {
          return [];
        }
      };
      assert.deepEqual(await eventually(() => read().length >= 1 && read()), ['start 198.18.0.10']);
      assert.deepEqual(await eventually(() => read().length >= 2 && read(), 5000), [
        'start 198.18.0.10',
        'stop 198.18.0.10',
      ]);
    } finally {
      l.destroy();
    }
  });
});

describe('a bad config', { skip: e2eSkip() }, () => {
  for (const [what, yaml, where] of [
    [
      'a port out of range',
      'doors:\n  web:\n    knock: [6000, 70000]\n    open: [80]\n',
      /sesame\.yaml:3:19 doors\.web\.knock\[1\]: port 70000 out of range/,
    ],
    [
      'an unknown key',
      'doors:\n  web:\n    knock: [6000]\n    opne: [80]\n',
      /sesame\.yaml:4:5 doors\.web\.opne: unknown key "opne"/,
    ],
    [
      'a bad duration',
      'doors:\n  web:\n    knock: [6000]\n    open: [80]\n    for: 5 minutes\n',
      /sesame\.yaml:5:10 doors\.web\.for: bad duration "5 minutes"/,
    ],
  ] as const) {
    test(`with ${what} exits non-zero with file:line and loads nothing`, async () => {
      const l = await doorLab(yaml, { daemon: false });
      try {
        const r = await sesame(l.lab, l.server, ['serve', '-c', l.config, '--state-dir', l.dir], { timeoutMs: 10_000 });
        assert.equal(r.code, 2);
        assert.match(r.stderr, where);
        assert.match(
          await l.nft(['list', 'table', 'inet', 'sesame']),
          /No such file or directory/,
          'nothing was loaded',
        );
        // positive control: the same check sees the table once a good config is served
        writeFileSync(l.config, WEB);
        await l.startDaemon();
        assert.match(await l.nft(['list', 'table', 'inet', 'sesame']), /table inet sesame/);
      } finally {
        l.destroy();
      }
    });
  }
});
