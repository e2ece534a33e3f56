import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../src/config/config-error.js';
import { hostInterface } from '../../../src/config/host-interfaces.js';
import { parseAcceptRule, recognisePair } from '../../../src/config/iptables-pattern.js';
import { parseKnockdConf } from '../../../src/config/knockd-conf.js';
import { knockdToYaml } from '../../../src/config/knockd-import.js';
import { doorName, knockdPlan } from '../../../src/config/knockd-plan.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { scanOneTimeSequences, useOneTimeSequence } from '../../../src/config/one-time-file.js';
import { commandFor } from '../../../src/core/door-commands.js';
import type { OneTimeDoor, SequenceDoor } from '../../../src/core/door.js';
import { compileIptables } from '../../../src/firewall/iptables/compile.js';
import { compileNft } from '../../../src/firewall/nft/compile.js';

const ISSUE_CONF = `[options]
	UseSyslog
	logfile = /var/log/knockd.log

[openHTTP]
	sequence      = 7000,8000,9000
	seq_timeout   = 5
	tcpflags      = syn
	start_command = iptables -I INPUT 1 -s %IP% -p tcp --dport 80 -j ACCEPT
	cmd_timeout   = 10
	stop_command  = iptables -D INPUT -s %IP% -p tcp --dport 80 -j ACCEPT
`;

function problems(text: string): string[] {
  try {
    parseKnockdConf(text, 'knockd.conf');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message.split('\n');
  }
  assert.fail('expected a ConfigError');
}

const withTemp = <T>(fn: (dir: string) => T): T => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-unit-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

describe('knockd.conf reader', () => {
  test('reads the options and a door the way knockd does', () => {
    const conf = parseKnockdConf(ISSUE_CONF);
    assert.deepEqual(conf.options, { useSyslog: true, logFile: '/var/log/knockd.log' });
    const [d] = conf.doors;
    assert.equal(d.name, 'openHTTP');
    assert.deepEqual(d.sequence, [
      { port: 7000, proto: 'tcp' },
      { port: 8000, proto: 'tcp' },
      { port: 9000, proto: 'tcp' },
    ]);
    assert.equal(d.seqTimeout, 5);
    assert.equal(d.cmdTimeout, 10);
    assert.deepEqual(d.tcpFlags, { set: ['syn'], clear: [] });
    assert.equal(d.startCommand, 'iptables -I INPUT 1 -s %IP% -p tcp --dport 80 -j ACCEPT');
  });

  test('keys are case-insensitive and knockd aliases work (Timeout, Command, Command_6)', () => {
    const conf = parseKnockdConf('[d]\nSEQUENCE=1,2:UDP\n  TimeOut = 7\nCOMMAND = a %IP%\ncommand_6 = b %IP%\n');
    const [d] = conf.doors;
    assert.deepEqual(d.sequence, [
      { port: 1, proto: 'tcp' },
      { port: 2, proto: 'udp' },
    ]);
    assert.equal(d.seqTimeout, 7);
    assert.equal(d.startCommand, 'a %IP%');
    assert.equal(d.startCommand6, 'b %IP%');
  });

  test("knockd's defaults: seq_timeout 25 s, cmd_timeout 10 s, tcp knocks", () => {
    const [d] = parseKnockdConf('[d]\nsequence = 1,2\n').doors;
    assert.equal(d.seqTimeout, 25);
    assert.equal(d.cmdTimeout, 10);
    assert.equal(d.tcpFlags, undefined);
  });

  test('tcpflags take a comma list with ! negation', () => {
    const [d] = parseKnockdConf('[d]\nsequence = 1,2\ntcpflags = fin,!ack\n').doors;
    assert.deepEqual(d.tcpFlags, { set: ['fin'], clear: ['ack'] });
  });

  test('unknown keys and malformed lines are errors at file:line, all of them', () => {
    const lines = problems(
      [
        'sequence = 1,2', // 1: outside a section
        '[options]',
        '  pidfile', // 3: no value
        '  seq_timeout = 5', // 4: a door key in [options]
        '[door]',
        '  sequence = 7000,8000:icmp', // 6
        '  seq_timeout = 99999999', // 7
        '  tcpflags = syn,bogus', // 8
        '  logfile = /x', // 9: an option in a door
        '  frobnicate = 1', // 10
        '  just words', // 11
        '[]', // 12
        '[nothing]', // 13: no knock
        '  command = true',
      ].join('\n'),
    );
    const at = (n: number) => lines.find((l) => l.startsWith(`knockd.conf:${n}:`));
    assert.match(at(1) ?? '', /directive outside a section/);
    assert.match(at(3) ?? '', /pidfile needs a value/);
    assert.match(at(4) ?? '', /unknown option "seq_timeout" in \[options\].*belongs in a \[door\] section/);
    assert.match(at(6) ?? '', /\[door\] sequence: unknown protocol "icmp".*knockd refuses it too/);
    assert.match(at(7) ?? '', /\[door\] seq_timeout: longer than 24 days/);
    assert.match(at(8) ?? '', /unknown tcp flag "bogus"/);
    assert.match(at(9) ?? '', /unknown directive "logfile".*belongs in \[options\]/);
    assert.match(at(10) ?? '', /unknown directive "frobnicate"/);
    assert.match(at(11) ?? '', /unknown directive "just words"|expected "key = value"/);
    assert.match(at(12) ?? '', /empty section name/);
    assert.match(at(13) ?? '', /\[nothing\]: door has no knock/);
    assert.equal(lines.length, 11);
  });

  test('a bad sequence is reported once, not also as "no knock"', () => {
    const lines = problems('[d]\nsequence = 7000,70000\n');
    assert.deepEqual(lines, ['knockd.conf:2:1 [d] sequence: port 70000 out of range 0..65535 (knockd refuses it too)']);
  });

  const warned = (body: string) => {
    const conf = parseKnockdConf(`[d]\n${body}\ncommand = true\n`);
    return { door: conf.doors[0], warnings: conf.warnings.map((w) => `${w.line} ${w.field}: ${w.message}`) };
  };

  test('what knockd 0.8 accepts loads with its meaning, with a warning where that meaning is accidental', () => {
    const comment = warned('sequence = 7000,8000,9000 # comment');
    assert.deepEqual(
      comment.door.sequence?.map((p) => p.port),
      [7000, 8000, 9000],
    );
    assert.match(comment.warnings[0], /^2 \[d\] sequence: knock #3 "9000 # comment": knockd has no inline comments/);

    const unit = warned('sequence = 1,2\nseq_timeout = 5s');
    assert.equal(unit.door.seqTimeout, 5);
    assert.match(unit.warnings[0], /^3 \[d\] seq_timeout: knockd reads "5s" as 5 seconds/);

    const trailing = warned('sequence = 7000,8000,');
    assert.deepEqual(
      trailing.door.sequence?.map((p) => p.port),
      [7000, 8000, 0],
      'knockd reads the empty knock as port 0',
    );
    assert.match(trailing.warnings[0], /a trailing comma\) is port 0/);

    const zero = warned('sequence = 0,7000');
    assert.match(zero.warnings[0], /port 0 can't be knocked by ordinary clients/);

    const long = warned('sequence = 1,2\nseq_timeout = 100000');
    assert.equal(long.door.seqTimeout, 100000);
    assert.deepEqual(long.warnings, []);

    const negative = warned('sequence = -1');
    assert.deepEqual(negative.door.sequence, [{ port: 65535, proto: 'tcp' }]);
    assert.match(negative.warnings[0], /negative port as 65535/);
  });

  test('repeated ports are kept, hit by hit, as knockd counts them (tcp and udp)', () => {
    const { door, warnings } = warned('sequence = 7000,7000,8000');
    assert.deepEqual(
      door.sequence?.map((p) => p.port),
      [7000, 7000, 8000],
    );
    assert.deepEqual(warnings, []);
    assert.deepEqual(warned('sequence = 15637:udp,15637:udp').door.sequence, [
      { port: 15637, proto: 'udp' },
      { port: 15637, proto: 'udp' },
    ]);
  });

  test('seq_timeout 0 (a knock knockd can never complete) becomes 1 s, with a warning', () => {
    const zero = warned('sequence = 1,2\nseq_timeout = 0');
    assert.equal(zero.door.seqTimeout, 1);
    assert.match(zero.warnings[0], /can never complete.*1 second/);
  });

  test('repeated tcp ports: nft keeps a seen set of address . sport . dport; iptables-restore refuses them', () => {
    const plan = parseConfig('doors:\n  r:\n    knock: [7000, 7000, 8000]\n    open: [80]\n');
    const nft = compileNft(plan);
    assert.match(nft, /set r_kseen_4 \{ type ipv4_addr \. inet_service \. inet_service;/);
    assert.match(nft, /tcp dport 7000 [^\n]*ip saddr \. tcp sport \. tcp dport @r_kseen_4 return/);
    assert.throws(() => compileIptables(plan, 4), /repeated in a sequence needs nftables/);
    const udp = parseConfig('doors:\n  u:\n    knock: ["7000/udp", "7000/udp"]\n    open: [80]\n');
    assert.doesNotMatch(compileNft(udp), /kseen/, 'udp repeats count every datagram');
  });

  test('what knockd refuses stays refused: a protocol followed by a comment, a port above 65535', () => {
    assert.match(problems('[d]\nsequence = 7000,8000:udp # c\n')[0], /unknown protocol "udp # c"/);
    assert.match(problems('[d]\nsequence = 7000,65536\n')[0], /port 65536 out of range/);
  });
});

describe('knockd.conf as a plan', () => {
  test('a command door: no kernel-native ports, grant lifetime = cmd_timeout, knockd commands', () => {
    const { plan, options } = knockdPlan(parseKnockdConf(ISSUE_CONF, '/etc/knockd.conf'));
    assert.equal(options.logFile, '/var/log/knockd.log');
    const door = plan.doors[0] as SequenceDoor;
    assert.equal(door.kind, 'sequence');
    assert.deepEqual(door.open, []);
    assert.equal(door.forMs, 10_000);
    assert.equal(door.knock.withinMs, 5000);
    assert.deepEqual(door.run, {
      start: 'iptables -I INPUT 1 -s %IP% -p tcp --dport 80 -j ACCEPT',
      stop: 'iptables -D INPUT -s %IP% -p tcp --dport 80 -j ACCEPT',
    });
    assert.equal(plan.source, '/etc/knockd.conf');
    assert.match(compileNft(plan), /update @openHTTP_open_4 \{ ip saddr timeout 10s \} log group 7331/);
  });

  test('no tcpflags: sesame counts bare SYNs; cmd_timeout 0 becomes a 1 s grant', () => {
    const { plan } = knockdPlan(parseKnockdConf('[d]\nsequence = 1,2\ncmd_timeout = 0\ncommand = true\n'));
    const door = plan.doors[0] as SequenceDoor;
    assert.deepEqual(door.knock.flags, { set: ['syn'], clear: ['fin', 'rst', 'ack'] });
    assert.equal(door.forMs, 1000);
  });

  test('Interface applies to every door; Target is noted, not matched', () => {
    const { plan, notes } = knockdPlan(
      parseKnockdConf('[options]\ninterface = eth1\n[d]\nsequence = 1,2\ntarget = 10.0.0.5\n'),
    );
    assert.equal(plan.doors[0].interface, 'eth1');
    assert.match(notes.join('\n'), /Target 10\.0\.0\.5 is not matched/);
  });

  test('interface door fails open: an Interface this host lacks is refused at its line', () => {
    const conf = (nic: string) => `[options]\n  Interface = ${nic}\n[d]\nsequence = 1,2\ncommand = true\n`;
    assert.throws(
      () => parseKnockdConf(conf('nosuchnic0'), 'knockd.conf', hostInterface),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.length === 1 &&
        err.problems[0].line === 2 &&
        /no network interface "nosuchnic0" on this host/.test(err.problems[0].message),
    );
    // the same check sees an interface that is there: lo is on every host
    assert.equal(parseKnockdConf(conf('lo'), 'knockd.conf', hostInterface).options.interface, 'lo');
  });

  test('section names become valid, unique door names', () => {
    const taken = new Set<string>();
    assert.equal(doorName('open SSH', taken), 'open_SSH');
    assert.equal(doorName('open SSH', taken), 'open_SSH_2');
    assert.equal(doorName('22ssh', taken), 'ssh');
    assert.equal(doorName('a-very-long-door-name-from-knockd', taken).length, 24);
  });

  test('_6 commands: absent falls back to the v4 command, empty runs nothing', () => {
    assert.equal(commandFor({ start: 'v4 %IP%' }, 'start', 6), 'v4 %IP%');
    assert.equal(commandFor({ start: 'v4', start6: 'v6' }, 'start', 6), 'v6');
    assert.equal(commandFor({ start: 'v4', start6: 'v6' }, 'start', 4), 'v4');
    assert.equal(commandFor({ stop: 'v4', stop6: '' }, 'stop', 6), undefined);
    const { plan } = knockdPlan(
      parseKnockdConf('[d]\nsequence = 1,2\ncommand = a\nstop_command = b\nstop_command_6 =\n'),
    );
    assert.deepEqual(plan.doors[0].run, { start: 'a', stop: 'b', stop6: '' });
  });

  test('a missing one-time sequence file is an error at its directive', () => {
    const conf = parseKnockdConf('[d]\n\tone_time_sequences = /nonexistent/seqs\n', 'k.conf');
    assert.throws(
      () => knockdPlan(conf),
      /k\.conf:2:1 \[d\] One_Time_Sequences: one-time sequence file \/nonexistent\/seqs not found/,
    );
  });
});

describe('one-time sequence files', () => {
  test('the first unused line is active; comments, blanks and bad lines are skipped', () => {
    const scan = scanOneTimeSequences(Buffer.from('# c\n\n#1,2\n70000,1\n 3,4:udp\n5,6\n'));
    assert.deepEqual(
      scan.unused.map((l) => [l.line, l.offset, l.ports.map((p) => `${p.port}/${p.proto}`)]),
      [
        [5, 18, ['3/tcp', '4/udp']],
        [6, 27, ['5/tcp', '6/tcp']],
      ],
    );
    assert.equal(scan.skipped[0].line, 4);
  });

  test('using a sequence writes # over its first byte in place and activates the next; none left disables', () => {
    withTemp((dir) => {
      const file = join(dir, 'seqs');
      writeFileSync(file, ' 1,2\n3,4\n');
      const { plan } = knockdPlan(parseKnockdConf(`[d]\none_time_sequences = ${file}\n`));
      let door = plan.doors[0] as OneTimeDoor;
      assert.equal(door.kind, 'one-time');
      assert.deepEqual(
        door.knock?.ports.map((p) => p.port),
        [1, 2],
      );
      let r = useOneTimeSequence(door);
      assert.equal(readFileSync(file, 'utf8'), '#1,2\n3,4\n');
      assert.equal(r.marked, 1);
      door = r.door;
      assert.deepEqual(
        door.knock?.ports.map((p) => p.port),
        [3, 4],
      );
      r = useOneTimeSequence(door);
      assert.equal(
        readFileSync(file, 'utf8'),
        '#1,2\n#,4\n',
        'without a leading blank the first digit goes, as in knockd',
      );
      assert.equal(r.door.knock, null);
      assert.doesNotMatch(
        compileNft({ ...plan, doors: [r.door] }),
        /chain d_knock/,
        'a disabled door has no knock rules',
      );
      assert.match(compileNft({ ...plan, doors: [r.door] }), /set d_open_4/, 'but keeps its grant set');
    });
  });

  test('sesame.yaml: knock: {one_time: FILE}', () => {
    withTemp((dir) => {
      const file = join(dir, 'seqs');
      writeFileSync(file, ' 7000,8000:udp\n');
      const plan = parseConfig(
        `doors:\n  ot:\n    knock: { one_time: ${JSON.stringify(file)} }\n    open: [22]\n    for: 30s\n`,
      );
      const door = plan.doors[0] as OneTimeDoor;
      assert.equal(door.kind, 'one-time');
      assert.equal(door.line, 1);
      assert.deepEqual(door.open, [{ port: 22, proto: 'tcp' }]);
      assert.throws(
        () => parseConfig('doors:\n  ot:\n    knock: { one_time: /nonexistent }\n    open: [22]\n'),
        /sesame\.yaml:3:\d+ doors\.ot\.knock\.one_time: one-time sequence file \/nonexistent not found/,
      );
      assert.throws(
        () =>
          parseConfig(
            `doors:\n  ot:\n    knock: { one_time: ${JSON.stringify(file)} }\n    open: [22]\n    close: [1, 2]\n`,
          ),
        /doors\.ot\.close: a one-time door has no close sequence/,
      );
    });
  });
});

describe('sesame import', () => {
  test('recognises the iptables insert/delete pair', () => {
    assert.deepEqual(
      parseAcceptRule('/usr/sbin/iptables -I INPUT 1 -s %IP% -p tcp --dport 80 -j ACCEPT', 'add')?.ports,
      [{ port: 80, proto: 'tcp' }],
    );
    assert.deepEqual(
      recognisePair(
        'iptables -A INPUT -s %IP% -p udp -m multiport --dports 53,123 -j ACCEPT',
        'iptables -D INPUT -s %IP% -p udp -m multiport --dports 53,123 -j ACCEPT',
      )?.ports,
      [
        { port: 53, proto: 'udp' },
        { port: 123, proto: 'udp' },
      ],
    );
    assert.equal(
      recognisePair(
        'iptables -I INPUT -s %IP% -p tcp --dport 80 -j ACCEPT',
        'iptables -D INPUT -s %IP% -p tcp --dport 81 -j ACCEPT',
      ),
      null,
      'stop must delete the same rule',
    );
    assert.equal(
      recognisePair(
        'iptables -I INPUT -i eth0 -s %IP% -p tcp --dport 80 -j ACCEPT',
        'iptables -D INPUT -i eth0 -s %IP% -p tcp --dport 80 -j ACCEPT',
      ),
      null,
      'unknown options stay commands',
    );
    assert.equal(
      recognisePair(
        'iptables -I FORWARD -s %IP% -p tcp --dport 80 -j ACCEPT',
        'iptables -D FORWARD -s %IP% -p tcp --dport 80 -j ACCEPT',
      ),
      null,
    );
    assert.equal(recognisePair('iptables -I INPUT -s %IP% -p tcp --dport 80 -j ACCEPT', undefined), null);
  });

  test('the common door becomes kernel-native (open + for) with the commands in comments, and the yaml loads', () => {
    const yaml = knockdToYaml(parseKnockdConf(ISSUE_CONF, 'knockd.conf'));
    assert.match(yaml, /\n {4}open: \[80\]\n {4}for: 10s\n/);
    assert.match(yaml, /# {3}start: "iptables -I INPUT 1 -s %IP% -p tcp --dport 80 -j ACCEPT"/);
    assert.match(yaml, /your own firewall must now ALLOW those ports/);
    const door = parseConfig(yaml).doors[0] as SequenceDoor;
    assert.deepEqual(door.open, [{ port: 80, proto: 'tcp' }]);
    assert.equal(door.forMs, 10_000);
    assert.equal(door.knock.withinMs, 5000);
    assert.equal(door.run, undefined);
  });

  test('other commands are kept as run commands, _6 included; a door without commands only logs, as in knockd', () => {
    const yaml = knockdToYaml(
      parseKnockdConf(
        '[wake]\nsequence = 1,2:udp\ncommand = etherwake %IP%\ncommand_6 =\n[quiet]\nsequence = 3,4\n',
        'k.conf',
      ),
    );
    const plan = parseConfig(yaml);
    assert.equal(plan.doors.length, 2);
    const door = plan.doors[0] as SequenceDoor;
    assert.deepEqual(door.run, { start: 'etherwake %IP%', start6: '' });
    assert.deepEqual(door.knock.ports, [
      { port: 1, proto: 'tcp' },
      { port: 2, proto: 'udp' },
    ]);
    const quiet = plan.doors[1] as SequenceDoor;
    assert.equal(quiet.name, 'quiet');
    assert.deepEqual([quiet.open, quiet.run], [[], undefined]);
    assert.match(yaml, /log_only: true/);
  });
});
