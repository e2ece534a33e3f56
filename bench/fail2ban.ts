import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Host, Lab } from '../src/lab/netns.js';
import { waitForLine } from '../src/lab/processes.js';

/**
 * The usual fail2ban web knock, as a bench peer: a jail whose filter matches the knock URL in
 * nginx's access log, with a "reverse ban" action — banning an address adds it to an nft set
 * that opens `port` to it for `bantime`; unbanning removes it. Debian's fail2ban-server runs in
 * the lab's server namespace in the foreground, with its own config folder, socket, pidfile and
 * an in-memory database: the host's fail2ban, its socket and systemd are never touched, and the
 * nft table lives in the namespace's own firewall.
 */

export interface Fail2banKnock {
  /** The folder that holds fail2ban.conf, jail.conf, filter.d/ and action.d/. */
  readonly dir: string;
  /** The access log nginx writes. */
  readonly logFile: string;
  /** Requests whose path starts with this open the port. */
  readonly urlPath: string;
  readonly port: number;
  readonly bantimeS: number;
}

export const FAIL2BAN_JAIL = 'web-knock';
const TABLE = 'f2b-knock';

/** Every file of the config folder, by path relative to it. Pure, so a unit test can read it. */
export function fail2banFiles(k: Fail2banKnock): Record<string, string> {
  const nft = '/usr/sbin/nft';
  const escaped = k.urlPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return {
    'fail2ban.conf': [
      '[Definition]',
      'loglevel = INFO',
      'logtarget = STDOUT',
      'syslogsocket = auto',
      'allowipv6 = auto',
      `socket = ${join(k.dir, 'fail2ban.sock')}`,
      `pidfile = ${join(k.dir, 'fail2ban.pid')}`,
      'dbfile = :memory:',
      'dbpurgeage = 1d',
      '',
    ].join('\n'),
    // the jail as a web-knock how-to writes it; backend auto = pyinotify when installed, else polling
    'jail.conf': [
      '[DEFAULT]',
      'backend = auto',
      'usedns = no',
      '',
      `[${FAIL2BAN_JAIL}]`,
      'enabled = true',
      `filter = ${FAIL2BAN_JAIL}`,
      `logpath = ${k.logFile}`,
      'maxretry = 1',
      'findtime = 60',
      `bantime = ${k.bantimeS}`,
      `action = nft-reverse-ban[port=${k.port}]`,
      '',
    ].join('\n'),
    [`filter.d/${FAIL2BAN_JAIL}.conf`]: ['[Definition]', `failregex = ^<HOST> -.*"GET ${escaped}`, ''].join('\n'),
    'action.d/nft-reverse-ban.conf': [
      '[Definition]',
      `actionstart = ${nft} add table inet ${TABLE}`,
      `  ${nft} add chain inet ${TABLE} input '{ type filter hook input priority -1; policy accept; }'`,
      `  ${nft} add set inet ${TABLE} knocked '{ type ipv4_addr; }'`,
      `  ${nft} add rule inet ${TABLE} input tcp dport <port> ip saddr @knocked accept`,
      `  ${nft} add rule inet ${TABLE} input tcp dport <port> drop`,
      `actionstop = ${nft} delete table inet ${TABLE}`,
      'actioncheck =',
      `actionban = ${nft} add element inet ${TABLE} knocked '{ <ip> }'`,
      `actionunban = ${nft} delete element inet ${TABLE} knocked '{ <ip> }'`,
      '',
    ].join('\n'),
  };
}

export interface RunningFail2ban {
  readonly child: ChildProcess;
  /** The log backend fail2ban chose (pyinotify, polling, ...). */
  readonly backend: string;
  readonly version: string;
  /** Everything fail2ban has printed so far. */
  output(): string;
  stop(): void;
}

/** Whether Debian's fail2ban (apt install fail2ban) is there to compare with. */
export function fail2banInstalled(): boolean {
  return existsSync('/usr/bin/fail2ban-server');
}

/** Writes the config folder and starts fail2ban-server in `host`; resolves once the jail runs. */
export async function startFail2ban(lab: Lab, host: Host, k: Fail2banKnock): Promise<RunningFail2ban> {
  for (const [file, text] of Object.entries(fail2banFiles(k))) {
    mkdirSync(dirname(join(k.dir, file)), { recursive: true });
    writeFileSync(join(k.dir, file), text);
  }
  const child = lab.spawn(host, 'fail2ban-server', [
    '-f',
    '-x',
    '-c',
    k.dir,
    '-s',
    join(k.dir, 'fail2ban.sock'),
    '-p',
    join(k.dir, 'fail2ban.pid'),
    'start',
  ]);
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  try {
    await waitForLine(child, new RegExp(`Jail '${FAIL2BAN_JAIL}' started`), 20_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`fail2ban-server did not start its jail in ${host.ns}: ${(err as Error).message}`);
  }
  return {
    child,
    backend: /Initiated '(\w+)' backend/.exec(out)?.[1] ?? 'unknown',
    version: /Starting Fail2ban v(\S+)/.exec(out)?.[1] ?? 'unknown',
    output: () => out,
    stop: () => {
      try {
        child.kill('SIGTERM');
      } catch {}
    },
  };
}
