import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab } from '../../lab/netns.js';
import { connectFrom, sesame, startDaemon, startEchoServer } from '../../lab/processes.js';

const DEMO_CONFIG = `doors:
  web:
    knock: [6000, 7000, 8000, 9000]
    within: 10s
    open: [80]
    for: 8s
`;

/**
 * `sesame demo`: a server and two clients in throwaway namespaces; shows port 80 filtered,
 * a knock opening it for one client only, and the kernel closing it again. Cleans up always.
 */
export async function demo(print: (line: string) => void): Promise<void> {
  const t0 = Date.now();
  const say = (text: string) => print(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${text}`);
  const dir = mkdtempSync(join(tmpdir(), 'sesame-demo-'));
  const lab = createLab({ clients: 2, name: 'demo' });
  const [alice, bob] = lab.clients;
  const server = lab.server.v4;
  try {
    const config = join(dir, 'sesame.yaml');
    writeFileSync(config, DEMO_CONFIG);
    say(`lab: server ${server} (namespace ${lab.server.ns}), clients alice ${alice.v4}, bob ${bob.v4}`);
    say(`door "web": knock 6000,7000,8000,9000 within 10s -> tcp/80 for 8s`);
    await startEchoServer(lab, lab.server, [80]);
    const daemon = await startDaemon(lab, lab.server, ['-c', config, '--state-dir', dir]);
    say('sesame serve is running in the server namespace (table inet sesame loaded)');
    let shown = 0;
    const daemonLog = () => {
      const lines = daemon
        .output()
        .trim()
        .split('\n')
        .filter((l) => / (open|close) /.test(l));
      for (const l of lines.slice(shown)) say(`daemon log: ${l.replace(/^\S+ /, '')}`);
      shown = lines.length;
    };

    const show = async (who: string, host: typeof alice) => {
      const r = await connectFrom(lab, host, server, 80, 1500);
      say(
        `${who.padEnd(5)} connect ${server}:80 -> ${r.result}${r.result === 'open' ? '' : ` (${Math.round(r.ms)} ms)`}`,
      );
      return r.result;
    };
    await show('alice', alice);
    say('alice: sesame knock 198.18.0.1 6000 7000 8000 9000');
    await sesame(lab, alice, ['knock', server, '6000', '7000', '8000', '9000']);
    const opened = await show('alice', alice);
    daemonLog();
    await show('bob', bob);
    const st = await sesame(lab, lab.server, ['status']);
    for (const line of st.stdout.trim().split('\n')) say(`status: ${line}`);
    say('waiting for the grant to expire (the kernel does it, no daemon needed)...');
    await new Promise((r) => setTimeout(r, 8500));
    const closed = await show('alice', alice);
    daemonLog();
    if (opened !== 'open' || closed === 'open') throw new Error('demo did not behave as expected');
    say('done: filtered -> knock -> open (alice only) -> expired');
  } finally {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
    say('lab removed');
  }
}
