import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SERVER_V4 } from '../../src/lab/netns.js';
import { knockdLab } from './knockd-lab.js';
import { e2eSkip, eventually, sleep } from './support.js';

/** The knockd.conf of the issue, unchanged except for where knockd would log. */
const KNOCKD_CONF = (dir: string) => `[options]
	UseSyslog
	LogFile = ${join(dir, 'knockd.log')}

[openHTTP]
	sequence      = 7000,8000,9000
	seq_timeout   = 5
	tcpflags      = syn
	start_command = iptables -I INPUT 1 -s %IP% -p tcp --dport 80 -j ACCEPT
	cmd_timeout   = 10
	stop_command  = iptables -D INPUT -s %IP% -p tcp --dport 80 -j ACCEPT
`;

const ACCEPT_RULE = /-A INPUT -s 198\.18\.0\.10\/32 -p tcp -m tcp --dport 80 -j ACCEPT/;

describe(
  "knockd.conf behind sesame serve --knockd-conf, with Debian's knock client",
  { skip: e2eSkip({ iptables: 'iptables', knock: 'knockd' }) },
  () => {
    test('knock -v opens port 80 for the knocker, and the stop command closes it cmd_timeout later', async (t) => {
      const l = await knockdLab(KNOCKD_CONF);
      try {
        await l.startDaemon();
        const [client] = l.clients;
        assert.equal(await l.connect(client), 'timeout', 'the base firewall drops tcp/80');
        const out = await l.knock(client, ['-v', SERVER_V4, '7000', '8000', '9000']);
        assert.match(out, /hitting tcp 198\.18\.0\.1:9000/);
        const knockedAt = Date.now();
        assert.equal(await eventually(async () => (await l.connect(client)) === 'open', 3000), true, 'port 80 opens');
        assert.match(await l.rules(), ACCEPT_RULE, 'start_command inserted the rule in the server namespace');
        const closed = await eventually(async () => (await l.connect(client)) === 'timeout', 16_000, 250);
        const after = (Date.now() - knockedAt) / 1000;
        assert.equal(closed, true, 'port 80 closes again');
        t.diagnostic(`port 80 closed ${after.toFixed(2)} s after the knock (cmd_timeout = 10)`);
        assert.ok(after >= 9 && after <= 13.5, `closed ${after.toFixed(1)} s after the knock (cmd_timeout = 10)`);
        assert.doesNotMatch(await l.rules(), ACCEPT_RULE);
        const log = readFileSync(join(l.dir, 'knockd.log'), 'utf8');
        assert.match(log, /"event":"run-start"/, 'LogFile gets the log lines');
        assert.match(log, /"event":"run-stop"/);
      } finally {
        l.destroy();
      }
    });

    test('kill -9 between start and stop: the overdue stop command runs when sesame starts again', async () => {
      const l = await knockdLab(KNOCKD_CONF);
      try {
        const first = await l.startDaemon();
        const [client] = l.clients;
        await l.knock(client, [SERVER_V4, '7000', '8000', '9000']);
        const knockedAt = Date.now();
        assert.equal(await eventually(async () => (await l.connect(client)) === 'open', 3000), true, 'port 80 opens');
        await eventually(() => /"event":"run-start"/.test(first.output()), 3000);
        first.kill('SIGKILL');
        // the behaviour under test: cmd_timeout (10 s) passes with sesame dead
        await sleep(Math.max(0, knockedAt + 11_500 - Date.now()));
        assert.match(await l.rules(), ACCEPT_RULE, 'with sesame dead, nothing removed the rule (as with knockd)');
        assert.equal(await l.connect(client), 'open');
        const second = await l.startDaemon();
        const removed = await eventually(async () => !ACCEPT_RULE.test(await l.rules()), 5000);
        assert.equal(removed, true, 'the restarted sesame ran the overdue stop command');
        assert.equal(await l.connect(client), 'timeout');
        assert.match(second.output(), /"event":"run-stop".*"exit":0/);
      } finally {
        l.destroy();
      }
    });
  },
);
