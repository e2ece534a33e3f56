import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatSpaKeys } from '../../src/core/spa/key-text.js';
import { type Grant, parseGrants } from '../../src/firewall/nftables.js';
import { createLab, type Host, type Lab } from '../../src/lab/netns.js';
import { startDaemon } from '../../src/lab/processes.js';
import { type LabSshd, startSshd } from '../../src/lab/sshd.js';
import { eventually, tempDir } from './support.js';

/** A key pair as the stock client takes it (`--key-base64-rijndael`, `--key-base64-hmac`). */
export interface Keys {
  readonly key: string;
  readonly hmac: string;
  /** A file with the pair, as `sesame token --spa-keys` prints it. */
  readonly file: string;
}

export function makeKeys(dir: string, name: string): Keys {
  const key = randomBytes(32);
  const hmac = randomBytes(64);
  const file = join(dir, `${name}.keys`);
  writeFileSync(file, formatSpaKeys({ key, hmacKey: hmac }), { mode: 0o600 });
  return { key: key.toString('base64'), hmac: hmac.toString('base64'), file };
}

/** A lab with sshd on 22 and `sesame serve --fwknop-access` on UDP/TCP 62201 and HTTP 8080. */
export interface SpaLab {
  readonly lab: Lab;
  readonly dir: string;
  readonly access: string;
  readonly sshd: LabSshd;
  daemon: ChildProcess & { output: () => string };
  startDaemon(): Promise<void>;
  /** The stock client: `fwknop -D server --key-base64-* ... args` from `client`. */
  fwknop(client: Host, keys: Keys, args: readonly string[]): Promise<{ code: number | null; out: string }>;
  /** Raw bytes to the UDP listener (socat), as an attacker or a resend would. */
  sendUdp(client: Host, file: string): Promise<void>;
  grants(door: string): Promise<Grant[]>;
  flush(): Promise<void>;
  /** Waits for one more `spa-refused` line with `reason` than `before`; returns the new count. */
  refusedAgain(reason: string, before: number): Promise<number>;
  refusals(reason: string): number;
  destroy(): void;
}

export const SPA_LISTEN_ARGS = ['--spa-udp', '62201', '--spa-tcp', '62201', '--spa-http', '8080'];

export async function spaLab(accessConf: string, doors: readonly string[]): Promise<SpaLab> {
  const lab = createLab({ clients: 2 });
  const dir = tempDir('sesame-spa-');
  const access = join(dir, 'access.conf');
  let sshd: LabSshd | undefined;
  const self: SpaLab = {
    lab,
    dir,
    access,
    get sshd() {
      return sshd as LabSshd;
    },
    daemon: undefined as unknown as SpaLab['daemon'],
    async startDaemon() {
      self.daemon = await startDaemon(lab, lab.server, [
        '--fwknop-access',
        access,
        ...SPA_LISTEN_ARGS,
        '--state-dir',
        dir,
        '--log-format',
        'json',
      ]);
      await eventually(() => self.daemon.output().includes('"spa-listening"'), 5000);
    },
    async fwknop(client, keys, args) {
      const r = await lab.run(client, 'fwknop', [
        '--no-rc-file',
        '-D',
        lab.server.v4,
        '--key-base64-rijndael',
        keys.key,
        '--key-base64-hmac',
        keys.hmac,
        ...args,
      ]);
      return { code: r.code, out: r.stdout + r.stderr };
    },
    async sendUdp(client, file) {
      const r = await lab.run(client, 'socat', ['-u', `OPEN:${file}`, `UDP-SENDTO:${lab.server.v4}:62201`]);
      if (r.code !== 0) throw new Error(`socat: ${r.stderr}`);
    },
    async grants(door) {
      const out = await Promise.all(
        [4, 6].map((f) => lab.run(lab.server, 'nft', ['-j', 'list', 'set', 'inet', 'sesame', `${door}_open_${f}`])),
      );
      return out.flatMap((r) => (r.code === 0 ? parseGrants(r.stdout) : []));
    },
    async flush() {
      for (const d of doors)
        for (const f of [4, 6]) await lab.run(lab.server, 'nft', ['flush', 'set', 'inet', 'sesame', `${d}_open_${f}`]);
    },
    refusals(reason) {
      return self.daemon
        .output()
        .split('\n')
        .filter((l) => l.includes('"event":"spa-refused"') && l.includes(`"reason":"${reason}"`)).length;
    },
    async refusedAgain(reason, before) {
      const n = await eventually(() => (self.refusals(reason) > before ? self.refusals(reason) : 0), 5000);
      if (!n) throw new Error(`no spa-refused reason=${reason} logged; output:\n${self.daemon.output().slice(-3000)}`);
      return n;
    },
    destroy() {
      sshd?.stop();
      lab.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    writeFileSync(access, accessConf);
    sshd = await startSshd(lab, lab.server);
    await self.startDaemon();
  } catch (err) {
    self.destroy();
    throw err;
  }
  return self;
}
