import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLab, type Lab } from '../../src/lab/netns.js';
import { connectFrom, sesame, startDaemon, startEchoServer } from '../../src/lab/processes.js';
import { type LabSshd, startSshd } from '../../src/lab/sshd.js';
import { type Backend, loadDaemonless } from './daemonless.js';
import { nmapScan, type ScanType } from './nmap.js';
import { e2eSkip, tempDir } from './support.js';

/**
 * What a port scanner learns from a host with a sequence door, a hit door and a shared door:
 *  - knock ports (6000, 7000, 8000) answer like the host's other closed ports, and a knock port
 *    with a live service (8443) stays that service;
 *  - protected ports look the same whether something listens behind them (22: sshd behind the
 *    shared door; 80: a service behind the sequence door) or not (8081, 2200), for SYN, FIN,
 *    NULL and Xmas scans.
 * Positive controls: after a knock the scanner does see the difference, so the checks can fail.
 */
const DOORS = (secret: string) => `doors:
  web:
    knock: [6000, 7000, 8000, 8443]
    within: 30s
    open: [80, 8081]
    for: 120s
  hit:
    hits: { port: 2200, count: 2, window: [1s, 5s] }
    for: 60s
  ssh443:
    shared: { port: 443, secret: ${secret}, redirect_to: 22 }
    for: 30s
`;

const KNOCK = ['6000', '7000', '8000', '8443'];
/** Protected ports with a listener behind them, and without. */
const LISTENING = [22, 80];
const EMPTY = [8081, 2200];
const PROTECTED = [...LISTENING, ...EMPTY];
/** Ports nothing in the config mentions and nothing listens on: the host's usual answer. */
const PLAIN_CLOSED = [6001, 7999, 31337];
/** Live services that are not protected: 443 (the shared port's site) and 8443 (a knock port). */
const SERVICES = [443, 8443];

const TOOLS = { nmap: 'nmap', sshd: 'openssh-server', 'iptables-restore': 'iptables' };

interface ScanLab {
  readonly lab: Lab;
  readonly target: string;
  destroy(): void;
}

async function scanLab(backend: Backend | 'daemon'): Promise<ScanLab> {
  const lab = createLab({ clients: 3, name: `scan-${backend}-` });
  const dir = tempDir();
  let sshd: LabSshd | undefined;
  const destroy = () => {
    sshd?.stop();
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const secret = join(dir, 'secret');
    writeFileSync(secret, 'open-sesame-0123456789\n', { mode: 0o600 });
    const yaml = DOORS(secret);
    const config = join(dir, 'sesame.yaml');
    writeFileSync(config, yaml);
    sshd = await startSshd(lab, lab.server);
    await startEchoServer(lab, lab.server, [80, ...SERVICES]);
    if (backend === 'daemon') await startDaemon(lab, lab.server, ['-c', config, '--state-dir', dir]);
    else await loadDaemonless(lab, lab.server, yaml, backend);
    return { lab, target: lab.server.v4, destroy };
  } catch (err) {
    destroy();
    throw err;
  }
}

for (const backend of ['daemon', 'iptables'] as const) {
  const what = backend === 'daemon' ? 'sesame serve (nftables)' : 'daemonless iptables-restore output';
  describe(`a port scan of a host with three doors: ${what}`, { skip: e2eSkip(TOOLS) }, () => {
    let l: ScanLab;
    before(async () => {
      l = await scanLab(backend);
    });
    after(() => l?.destroy());

    /** The same scan of 80 (listener) and 8081 (none) from an address that just knocked. */
    const knockedScan = async (type: ScanType) => {
      const knocker = l.lab.clients[1];
      const r = await sesame(l.lab, knocker, ['knock', l.target, ...KNOCK]);
      assert.equal(r.code, 0, r.stderr);
      return nmapScan(l.lab, knocker, l.target, type, '80,8081');
    };

    test('nmap -sS -p 1-65535: knock ports are closed like the other closed ports, protected ports filtered with or without a listener', async () => {
      const [scanner] = l.lab.clients;
      const scan = await nmapScan(l.lab, scanner, l.target, '-sS', '1-65535');
      assert.equal(scan.others, 'closed', "the host's usual answer: closed");
      for (const port of [6000, 7000, 8000, ...PLAIN_CLOSED]) assert.equal(scan.state(port), 'closed', `port ${port}`);
      for (const port of PROTECTED) assert.equal(scan.state(port), 'filtered', `protected port ${port}`);
      for (const port of SERVICES) assert.equal(scan.state(port), 'open', `service on ${port}`);
      assert.deepEqual(
        [...scan.ports.keys()].sort((a, b) => a - b),
        [...PROTECTED, ...SERVICES].sort((a, b) => a - b),
        'nothing else stands out',
      );
      // the scan did not open anything
      assert.equal((await connectFrom(l.lab, scanner, l.target, 80, 1000)).result, 'timeout');
      // positive control: after a knock the same scan and the same probe see 80 open
      const knocked = await knockedScan('-sS');
      assert.equal(knocked.state(80), 'open', 'a knocker sees 80 open');
      assert.equal(knocked.state(8081), 'closed', 'and 8081 closed, not filtered');
      assert.equal((await connectFrom(l.lab, l.lab.clients[1], l.target, 80, 2000)).result, 'open');
    });

    for (const type of ['-sF', '-sN', '-sX'] as const satisfies readonly ScanType[]) {
      test(`nmap ${type} -p 1-65535: protected ports answer alike with or without a listener; knock ports like closed ones`, async () => {
        const [scanner] = l.lab.clients;
        const scan = await nmapScan(l.lab, scanner, l.target, type, '1-65535');
        assert.equal(scan.others, 'closed');
        for (const port of [6000, 7000, 8000, ...PLAIN_CLOSED])
          assert.equal(scan.state(port), 'closed', `port ${port}`);
        const states = new Set(PROTECTED.map((p) => scan.state(p)));
        assert.deepEqual([...states], ['open|filtered'], `protected ports ${PROTECTED.join(', ')} must look alike`);
        // positive control: without the door in the way, the same scan tells 80 from 8081
        const knocked = await knockedScan(type);
        assert.notEqual(knocked.state(80), knocked.state(8081), `${type} from a knocker tells them apart`);
      });
    }

    test('positive control: after the knock the same scans see port 80 open and tell 80 (listener) from 8081 (none)', async () => {
      const knocker = l.lab.clients[1];
      const r = await sesame(l.lab, knocker, ['knock', l.target, ...KNOCK]);
      assert.equal(r.code, 0, r.stderr);
      const syn = await nmapScan(l.lab, knocker, l.target, '-sS', '80,8081');
      assert.equal(syn.state(80), 'open');
      assert.equal(syn.state(8081), 'closed');
      const fin = await nmapScan(l.lab, knocker, l.target, '-sF', '80,8081');
      assert.notEqual(fin.state(80), fin.state(8081), 'without the door in the way, a FIN scan tells them apart');
      // the knock port with a live service still reached it for everyone
      assert.equal((await connectFrom(l.lab, l.lab.clients[0], l.target, 8443, 2000)).result, 'open');
    });

    test('regression: knocks sent as SYN+FIN or SYN+RST do not open the door; the same knock as bare SYNs does', async () => {
      const client = l.lab.clients[2];
      for (const flags of ['SYNFIN', 'SYNRST']) {
        for (const port of KNOCK) {
          await nmapScan(l.lab, client, l.target, '-sS', port, ['--scanflags', flags]);
        }
        assert.equal((await connectFrom(l.lab, client, l.target, 80, 1000)).result, 'timeout', `${flags} knocks`);
      }
      const r = await sesame(l.lab, client, ['knock', l.target, ...KNOCK]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await connectFrom(l.lab, client, l.target, 80, 2000)).result, 'open');
    });
  });
}
