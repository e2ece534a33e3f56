import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../src/config/config-error.js';
import { parseFwknopAccess } from '../../../src/config/fwknop-access.js';
import { expandCmdCycle, isExpansionOf } from '../../../src/core/spa/cmd-cycle.js';
import { stopDecision } from '../../../src/daemon/stop-policy.js';

const values = {
  ip: '198.18.0.2',
  pktSrc: '198.18.0.3',
  dst: '198.18.0.1',
  port: 22,
  proto: 'tcp' as const,
  timestamp: 1_800_000_000,
  timeoutS: 30,
};
const keys = `KEY_BASE64 ${Buffer.alloc(32, 1).toString('base64')}\nHMAC_KEY_BASE64 ${Buffer.alloc(64, 2).toString('base64')}`;

describe("fwknopd's CMD_CYCLE_OPEN/CLOSE", () => {
  test('variables expand as fwknopd build_cmd does: prefixes in its order, unknown $ dropped', () => {
    assert.equal(
      expandCmdCycle(
        'nft add element inet t s { $IP . $PORT } # $SRC $PKT_SRC $DST $PROTO $TIMEOUT $CLIENT_TIMEOUT',
        values,
      ),
      'nft add element inet t s { 198.18.0.2 . 22 } # 198.18.0.2 198.18.0.3 198.18.0.1 6 1800000030 30',
    );
    assert.equal(expandCmdCycle('ipset add $IPSET $FOO', values), 'ipset add 198.18.0.2SET FOO');
    assert.equal(expandCmdCycle('x $PROTO', { ...values, proto: 'udp' }), 'x 17');
  });

  test('a recorded close is run after a restart only if it is an expansion of the loaded template', () => {
    const close = 'ipset del knocked $IP,$PROTO:$PORT';
    assert.ok(isExpansionOf(close, expandCmdCycle(close, values)));
    assert.ok(!isExpansionOf(close, 'ipset del knocked 198.18.0.2,6:22; rm -rf /'));
    const [door] = parseFwknopAccess(
      `SOURCE ANY\n${keys}\nCMD_CYCLE_OPEN ipset add knocked $IP\nCMD_CYCLE_CLOSE ${close}\nCMD_CYCLE_TIMER 20\n`,
    );
    const g = { door: door.name, family: 4 as const, address: '198.18.0.2', until: 0 };
    assert.deepEqual(stopDecision({ ...g, stop: expandCmdCycle(close, values) }, door), {
      run: 'ipset del knocked 198.18.0.2,6:22',
    });
    assert.ok('refused' in stopDecision({ ...g, stop: 'reboot' }, door));
  });

  test('a stanza with a command cycle: no ports hidden, the grant is the timer; fwknopd refusals kept', () => {
    const [d] = parseFwknopAccess(
      `SOURCE ANY\n${keys}\nCMD_CYCLE_OPEN /bin/true $IP\nCMD_CYCLE_CLOSE /bin/true $IP\nCMD_CYCLE_TIMER 20\n`,
    );
    assert.deepEqual(d.open, []);
    assert.equal(d.forMs, 20_000);
    assert.deepEqual(d.spa.commands, { open: '/bin/true $IP', close: '/bin/true $IP' });
    const none = parseFwknopAccess(`SOURCE ANY\n${keys}\nCMD_CYCLE_OPEN /bin/true\nCMD_CYCLE_CLOSE NONE\n`)[0];
    assert.equal(none.spa.commands?.close, null);
    const refused = (text: string) => {
      try {
        parseFwknopAccess(text);
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.problems.map((p) => `${p.line} ${p.field}: ${p.message}`).join('\n');
      }
      return '';
    };
    assert.match(
      refused(`SOURCE ANY\n${keys}\nCMD_CYCLE_OPEN /bin/true\n`),
      /CMD_CYCLE_OPEN and CMD_CYCLE_CLOSE go together/,
    );
    assert.match(
      refused(`SOURCE ANY\n${keys}\nCMD_CYCLE_OPEN /bin/true\nCMD_CYCLE_CLOSE /bin/true\n`),
      /needs CMD_CYCLE_TIMER/,
    );
    assert.match(refused(`SOURCE ANY\n${keys}\nENABLE_CMD_EXEC Y\n`), /4 ENABLE_CMD_EXEC: .*command the packet names/);
  });
});
