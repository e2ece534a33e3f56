import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SERVER_V4 } from '../../src/lab/netns.js';
import { sesame } from '../../src/lab/processes.js';
import { knockdLab } from './knockd-lab.js';
import { e2eSkip, eventually } from './support.js';

const MIXED = () => `[mixed]
	sequence      = 7000:udp,8000:tcp
	seq_timeout   = 5
	tcpflags      = syn
	start_command = iptables -I INPUT 1 -s %IP% -p tcp --dport 80 -j ACCEPT
	cmd_timeout   = 20
	stop_command  = iptables -D INPUT -s %IP% -p tcp --dport 80 -j ACCEPT

[allUdp]
	sequence      = 7100:udp,7200:udp
	seq_timeout   = 5
	start_command = iptables -I INPUT 1 -s %IP% -p tcp --dport 80 -j ACCEPT
	cmd_timeout   = 20
	stop_command  = iptables -D INPUT -s %IP% -p tcp --dport 80 -j ACCEPT
`;

describe(
  'udp and mixed-protocol knockd sequences',
  { skip: e2eSkip({ iptables: 'iptables', knock: 'knockd' }) },
  () => {
    test('udp and mixed sequences open with Debian knock (port:proto, -u) and sesame knock (-u, -d); a tcp knock on a udp port fails', async () => {
      const l = await knockdLab(MIXED, { clients: 4 });
      try {
        await l.startDaemon();
        const [a, b, c, d] = l.clients;
        const opens = async (host: typeof a) => eventually(async () => (await l.connect(host)) === 'open', 3000);

        await l.knock(a, ['-v', SERVER_V4, '7000:udp', '8000:tcp']);
        assert.equal(await opens(a), true, 'knock HOST 7000:udp 8000:tcp');

        // Debian's -u sends every hit as UDP, even `port:tcp` ones
        await l.knock(b, ['-u', SERVER_V4, '7100', '7200']);
        assert.equal(await opens(b), true, 'knock -u HOST 7100 7200');

        const r = await sesame(l.lab, c, ['knock', '-u', '-d', '50', SERVER_V4, '7000', '8000:tcp']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await opens(c), true, 'sesame knock -u -d 50 HOST 7000 8000:tcp (knockd client syntax)');

        await l.knock(d, [SERVER_V4, '7000', '8000']);
        assert.equal(await l.connect(d), 'timeout', 'a tcp knock on the udp port does not count');
        // positive control: the same client with the udp knock opens; knocks are read in order,
        // so had the tcp knock counted, its command would have run first
        await l.knock(d, [SERVER_V4, '7000:udp', '8000:tcp']);
        assert.equal(await opens(d), true, 'the same sequence with 7000 as udp opens');
        const runs = () =>
          (l.daemon?.output() ?? '')
            .split('\n')
            .filter((line) => line.includes('"event":"run-start"') && line.includes(`"address":"${d.v4}"`));
        assert.ok(await eventually(() => runs().length > 0, 3000), 'the start command is logged');
        assert.equal(runs().length, 1, `one start command for ${d.v4}, from the udp knock:\n${runs().join('\n')}`);
      } finally {
        l.destroy();
      }
    });
  },
);
