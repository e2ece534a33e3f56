import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SERVER_V4 } from '../../src/lab/netns.js';
import { connectFrom } from '../../src/lab/processes.js';
import { type KnockdLab, knockdLab } from './knockd-lab.js';
import { e2eSkip, eventually } from './support.js';

// Every door appends its name and the knocker to `ran`, so the test counts command runs.
const CONF = (dir: string) => {
  const run = (name: string) => `command = echo ${name} %IP% >> ${join(dir, 'ran')}`;
  return `[options]
	UseSyslog

[comment]
	sequence = 7001,7002 # comment
	${run('comment')}

[unit]
	sequence = 7101,7102
	seq_timeout = 5s
	${run('unit')}

[trailing]
	sequence = 7201,7202,
	${run('trailing')}

[long]
	sequence = 7301,7302
	seq_timeout = 100000
	${run('long')}

[repeat]
	sequence = 7401,7401,7402
	seq_timeout = 10
	${run('repeat')}

[udp]
	sequence = 15637:udp,15637:udp
	seq_timeout = 5
	${run('udp')}

[quiet]
	sequence = 7601,7602
`;
};

describe(
  "knockd.conf files that knockd 0.8 accepts load in sesame with knockd's meaning",
  { skip: e2eSkip({ iptables: 'iptables', knock: 'knockd' }) },
  () => {
    let l: KnockdLab;
    const ran = () => (existsSync(join(l.dir, 'ran')) ? readFileSync(join(l.dir, 'ran'), 'utf8') : '');
    const runs = (name: string) =>
      ran()
        .split('\n')
        .filter((line) => line.startsWith(`${name} `)).length;
    const opened = (door: string, address: string) =>
      new RegExp(`"event":"open".*"door":"${door}".*"address":"${address.replaceAll('.', '\\.')}"`).test(
        l.daemon?.output() ?? '',
      );
    /**
     * Knocks the quiet door from `client` and waits for its open line: the kernel logs every
     * door's openings to one NFLOG group, read in order, so any door the knocks before it
     * opened is logged by then.
     */
    const settled = async (client: KnockdLab['clients'][number]) => {
      await l.knock(client, [SERVER_V4, '7601', '7602']);
      assert.ok(await eventually(() => opened('quiet', client.v4), 3000), `quiet opens for ${client.v4}`);
    };

    before(async () => {
      l = await knockdLab(CONF, { clients: 4 });
      await l.startDaemon();
    });
    after(() => l?.destroy());

    test('each case loads; a warning is logged where knockd reads the line by accident, none elsewhere', () => {
      const log = l.daemon?.output() ?? '';
      const warnings = log.split('\n').filter((line) => line.includes('"knockd-conf"'));
      const about = (door: string) => warnings.filter((w) => w.includes(`[${door}]`));
      assert.match(about('comment').join(), /knockd has no inline comments and reads this as port 7002/);
      assert.match(about('unit').join(), /knockd reads \\"5s\\" as 5 seconds/);
      assert.match(about('trailing').join(), /a trailing comma\) is port 0/);
      for (const door of ['long', 'repeat', 'udp', 'quiet']) assert.deepEqual(about(door), [], door);
    });

    test('the commented sequence and the 5s timeout open with a plain knock', async () => {
      const [a] = l.clients;
      await l.knock(a, [SERVER_V4, '7001', '7002']);
      await l.knock(a, [SERVER_V4, '7101', '7102']);
      await l.knock(a, [SERVER_V4, '7301', '7302']);
      assert.ok(await eventually(() => runs('comment') === 1 && runs('unit') === 1 && runs('long') === 1, 3000), ran());
      await l.knock(a, [SERVER_V4, '7201', '7202']);
      await settled(a);
      assert.equal(
        opened('trailing', a.v4),
        false,
        'the trailing comma is a knock on port 0: 7201,7202 alone does not open',
      );
      assert.equal(runs('trailing'), 0, 'and its command never ran');
    });

    test('a repeated port counts hit by hit: two connections to 7401, then 7402, open (tcp); two datagrams (udp)', async () => {
      const [, b] = l.clients;
      await l.knock(b, [SERVER_V4, '7401', '7401', '7402']);
      assert.ok(await eventually(() => runs('repeat') === 1, 3000), `knock 7401 7401 7402: ${ran()}`);
      await l.knock(b, ['-u', SERVER_V4, '15637', '15637']);
      assert.ok(await eventually(() => runs('udp') === 1, 3000), `knock -u 15637 15637: ${ran()}`);
    });

    test("a SYN retransmit is not a second knock: one connection to 7401 whose SYN is sent twice, then 7402, doesn't open", async () => {
      const [, , c] = l.clients;
      // the client's kernel retransmits the SYN (same source port) when the answer is lost
      const rules = 'table inet lose { chain lost { type filter hook input priority 0; tcp sport 7401 drop; }; }';
      const add = await l.lab.run(c, 'sh', ['-c', `echo '${rules}' | nft -f -`]);
      assert.equal(add.code, 0, add.stderr);
      const once = await connectFrom(l.lab, c, SERVER_V4, 7401, 1600); // SYN at 0 s and its retransmit at 1 s
      assert.equal(once.result, 'timeout');
      await l.lab.run(c, 'nft', ['delete', 'table', 'inet', 'lose']);
      await l.knock(c, [SERVER_V4, '7402']);
      await settled(c);
      assert.equal(opened('repeat', c.v4), false, 'one connection whose SYN came twice is one knock');
      assert.equal(runs('repeat'), 1, 'still only client b opened the door');
      // positive control from the same client: two connections do count
      await l.knock(c, [SERVER_V4, '7401', '7401', '7402']);
      assert.ok(await eventually(() => runs('repeat') === 2, 3000), ran());
    });

    test('a door without commands loads and logs its knocks (knockd: OPEN SESAME, nothing run)', async () => {
      const [, , , d] = l.clients;
      await l.knock(d, [SERVER_V4, '7601', '7602']);
      assert.ok(await eventually(() => opened('quiet', d.v4), 3000), l.daemon?.output());
      assert.equal(runs('quiet'), 0);
    });
  },
);
