import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every program the e2e tests and their lab helpers run, with the Debian package that has it
 * (all in dev.sh's PACKAGES). Under CI=true each e2e suite checks all of them, so a tool a test
 * uses but forgot to declare still fails CI instead of failing (or skipping) somewhere obscure.
 */
export const E2E_TOOLS: Readonly<Record<string, string>> = {
  ip: 'iproute2',
  nft: 'nftables',
  iptables: 'iptables',
  'iptables-restore': 'iptables',
  'ip6tables-restore': 'iptables',
  sysctl: 'procps',
  nmap: 'nmap',
  nc: 'netcat-openbsd',
  curl: 'curl',
  ping: 'iputils-ping',
  sshd: 'openssh-server',
  ssh: 'openssh-client',
  'ssh-keygen': 'openssh-client',
  nginx: 'nginx',
  logrotate: 'logrotate',
  openssl: 'openssl',
  knock: 'knockd',
  knockd: 'knockd',
  python3: 'python3',
  chromium: 'chromium',
  'dpkg-deb': 'dpkg',
  'dpkg-shlibdeps': 'dpkg-dev',
  'deb-systemd-helper': 'init-system-helpers',
  lintian: 'lintian',
  readelf: 'binutils',
  'aarch64-linux-gnu-strip': 'binutils-aarch64-linux-gnu',
  unshare: 'util-linux',
  zsh: 'zsh',
  'systemd-analyze': 'systemd',
  man: 'man-db',
  npm: 'nodejs',
  socat: 'socat',
  fwknop: 'fwknop-client',
  fwknopd: 'fwknop-server',
  ss: 'iproute2',
  debootstrap: 'debootstrap',
  'systemd-nspawn': 'systemd-container',
};

/** Whether `tool` is on PATH (or in /usr/sbin, where Debian puts daemons a non-login PATH misses). */
export function hasTool(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1" || test -x "/usr/sbin/$1"', 'sh', tool], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Why an e2e test can't run here, or false when it can. Tests pass this as `skip`, so a
 * missing tool shows up as "skipped: needs nmap (apt install nmap)", never as a pass; under
 * CI=true every tool in E2E_TOOLS is checked, and scripts/test.mjs fails the run on any skip.
 */
export function e2eSkip(tools: Record<string, string> = {}): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and nftables)';
  const needed: Record<string, string> = {
    ip: 'iproute2',
    nft: 'nftables',
    ...tools,
    ...(process.env.CI === 'true' ? E2E_TOOLS : {}),
  };
  for (const [tool, pkg] of Object.entries(needed)) {
    if (!hasTool(tool)) return `needs ${tool} (apt install ${pkg})`;
  }
  return false;
}

export const tempDir = (name = 'sesame-test-') => mkdtempSync(join(tmpdir(), name));

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns truthy or `timeoutMs` passes; returns the last value. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 5000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await fn();
  while (!last && Date.now() < deadline) {
    await sleep(everyMs);
    last = await fn();
  }
  return last;
}
