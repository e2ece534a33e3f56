import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createLab, type Lab } from '../../src/lab/netns.js';
import { sesame, startEchoServer } from '../../src/lab/processes.js';
import { e2eSkip, tempDir } from './support.js';

/**
 * `sesame doctor` inside a namespace set up like a real host: the other firewall is loaded
 * with the tool's own kind of rules (an nft table like firewalld's, iptables-nft chains like
 * ufw's and Docker's), and doctor must name it and say how to fix it.
 */

const SSH = `doors:
  ssh:
    knock: [7000, 8000, 9000]
    within: 10s
    open: [22]
    for: 5m
`;

interface Host {
  lab: Lab;
  dir: string;
  doctor(): Promise<{ code: number | null; stdout: string; stderr: string }>;
  destroy(): void;
}

/** A server namespace with sesame's config, a service on `ports`, rp_filter on, a private state dir. */
async function host(yaml: string, ports: number[], setup: (lab: Lab) => Promise<void>): Promise<Host> {
  const lab = createLab({ clients: 1, name: 'doc' });
  const dir = tempDir();
  const state = join(dir, 'state');
  mkdirSync(state, { mode: 0o700 });
  writeFileSync(join(dir, 'sesame.yaml'), yaml);
  const h: Host = {
    lab,
    dir,
    doctor: () => sesame(lab, lab.server, ['doctor', '-c', join(dir, 'sesame.yaml'), '--state-dir', state]),
    destroy() {
      lab.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (const k of ['all', 'default']) await lab.run(lab.server, 'sysctl', ['-qw', `net.ipv4.conf.${k}.rp_filter=2`]);
    if (ports.length) await startEchoServer(lab, lab.server, ports);
    await setup(lab);
  } catch (err) {
    h.destroy();
    throw err;
  }
  return h;
}

async function load(lab: Lab, tool: string, args: string[], input: string): Promise<void> {
  const r = await lab.run(lab.server, tool, args, { input });
  assert.equal(r.code, 0, `${tool}: ${r.stderr}`);
}

const FIREWALLD = `table inet firewalld {
  chain filter_INPUT {
    type filter hook input priority filter + 10; policy accept;
    ct state { established, related } accept
    ct status dnat accept
    iifname "lo" accept
    ct state invalid drop
    jump filter_INPUT_ZONES
    reject with icmpx admin-prohibited
  }
  chain filter_INPUT_ZONES {
    iifname "eth0" goto filter_IN_public
    goto filter_IN_public
  }
  chain filter_IN_public {
    jump filter_IN_public_allow
  }
  chain filter_IN_public_allow {
    tcp dport 9090 accept
    ip6 daddr fe80::/64 udp dport 546 accept
  }
}
`;

const UFW = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:ufw-before-input - [0:0]
:ufw-user-input - [0:0]
:ufw-after-input - [0:0]
-A INPUT -j ufw-before-input
-A INPUT -j ufw-user-input
-A INPUT -j ufw-after-input
-A ufw-before-input -i lo -j ACCEPT
-A ufw-before-input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A ufw-before-input -m conntrack --ctstate INVALID -j DROP
-A ufw-user-input -p tcp -m tcp --dport 80 -j ACCEPT
-A ufw-user-input -s 203.0.113.7/32 -p tcp -m tcp --dport 22 -j ACCEPT
-A ufw-after-input -p udp -m udp --dport 137 -j DROP
COMMIT
`;

const DOCKER = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -o docker0 -j DOCKER
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-USER -j RETURN
COMMIT
`;

describe('sesame doctor', { skip: e2eSkip({ iptables: 'iptables', ss: 'iproute2', sysctl: 'procps' }) }, () => {
  test('(a) a firewalld-style table that rejects ssh: names the chain and the firewall-cmd fix, exit 1', async () => {
    const h = await host(SSH, [22], (lab) => load(lab, 'nft', ['-f', '-'], FIREWALLD));
    try {
      const r = await h.doctor();
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(
        r.stdout,
        /problem: table inet firewalld, chain filter_INPUT drops new 22\/tcp connections \(IPv4 and IPv6; rule \d+ in filter_INPUT\)/,
      );
      assert.match(r.stdout, /door "ssh" can't open port 22/);
      assert.match(
        r.stdout,
        /fix: allow it in firewalld: firewall-cmd --permanent --add-port=22\/tcp && firewall-cmd --reload/,
      );
      assert.match(r.stderr, /1 problem found/);
    } finally {
      h.destroy();
    }
  });

  test('(b) ufw-style iptables-nft rules with policy DROP and no ssh rule: names the ufw fix, exit 1', async () => {
    const h = await host(SSH, [22], (lab) => load(lab, 'iptables-restore', [], UFW));
    try {
      const r = await h.doctor();
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(
        r.stdout,
        /problem: table ip filter, chain INPUT drops new 22\/tcp connections \(IPv4; policy drop\)/,
      );
      assert.match(r.stdout, /fix: allow it in ufw: ufw allow 22\/tcp/);
      assert.doesNotMatch(r.stdout, /IPv6/, 'ufw-style rules were loaded for IPv4 only');
    } finally {
      h.destroy();
    }
  });

  test('(c) Docker-style chains publishing a protected port: says the port bypasses sesame, exit 1', async () => {
    const yaml = `${SSH}  admin:\n    knock: [1111, 2222]\n    within: 10s\n    open: [8080]\n    for: 5m\n`;
    const h = await host(yaml, [22, 8080], (lab) => load(lab, 'iptables-restore', [], DOCKER));
    try {
      const r = await h.doctor();
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(
        r.stdout,
        /problem: table ip nat, chain PREROUTING redirects new 8080\/tcp connections \(IPv4; rule \d+ in DOCKER\)/,
      );
      assert.match(r.stdout, /door "admin" doesn't hide port 8080: it is open to everyone/);
      assert.match(
        r.stdout,
        /fix: publish the container on 127\.0\.0\.1 only \(docker run -p 127\.0\.0\.1:8080:\.\.\.\)/,
      );
      assert.doesNotMatch(
        r.stdout,
        /port 22\b.*open to everyone|door "ssh" can't open/,
        'ssh is neither redirected nor dropped',
      );
    } finally {
      h.destroy();
    }
  });

  test('(d) a clean host: no problems, exit 0 (a hit door gets its SYN-retry note)', async () => {
    const yaml = `${SSH}  knock22:\n    hits: 22\n    for: 30s\n`;
    const h = await host(yaml, [22], async () => {});
    try {
      const r = await h.doctor();
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /sesame doctor: no problems found/);
      assert.match(r.stdout, /note: door "knock22" counts the client's own SYN retries on port 22/);
      assert.doesNotMatch(r.stdout, /problem:/);
      const json = await sesame(h.lab, h.lab.server, [
        'doctor',
        '--json',
        '-c',
        join(h.dir, 'sesame.yaml'),
        '--state-dir',
        join(h.dir, 'state'),
      ]);
      assert.equal(json.code, 0);
      const report = JSON.parse(json.stdout);
      assert.equal(report.problems, 0);
      assert.equal(report.findings[0].severity, 'note');
    } finally {
      h.destroy();
    }
  });

  test('a port nothing listens on, rp_filter off, a state dir and a secret others can read: each named with its fix', async () => {
    const secret = 'shared.secret';
    const yaml = `doors:\n  web:\n    knock: [6000, 7000]\n    within: 5s\n    open: [80]\n    for: 30s\n  ssh443:\n    shared: { port: 443, secret: ${secret} }\n    for: 30s\n`;
    const h = await host(yaml, [22], async (lab) => {
      for (const k of ['all', 'default'])
        await lab.run(lab.server, 'sysctl', ['-qw', `net.ipv4.conf.${k}.rp_filter=0`]);
    });
    try {
      writeFileSync(join(h.dir, secret), 'a-long-enough-static-secret\n');
      chmodSync(join(h.dir, secret), 0o644);
      chmodSync(join(h.dir, 'state'), 0o777);
      const r = await h.doctor();
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /door "web" protects 80\/tcp, but nothing listens on port 80/);
      assert.doesNotMatch(
        r.stdout,
        /door "ssh443" protects 22\/tcp, but nothing listens/,
        'sshd stand-in listens on 22',
      );
      assert.match(r.stdout, /reverse path filtering is off[\s\S]*fix: sysctl -w net\.ipv4\.conf\.all\.rp_filter=2/);
      assert.match(r.stdout, /state dir .* is writable by others \(mode 777\)[\s\S]*fix: chmod 700/);
      assert.match(
        r.stdout,
        /door "ssh443"'s secret .*shared\.secret is readable by everyone \(mode 644\)[\s\S]*fix: chmod 600/,
      );
    } finally {
      h.destroy();
    }
  });
});
