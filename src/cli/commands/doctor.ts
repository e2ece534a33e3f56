import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { loadFwknopAccess } from '../../config/fwknop-plan.js';
import { loadKnockdConf } from '../../config/knockd-plan.js';
import { loadConfigFile } from '../../config/load-config.js';
import type { Plan } from '../../core/door.js';
import { diagnose, type Finding, type HostFacts } from '../../core/doctor/diagnose.js';
import { execFile, FirewallError } from '../../firewall/exec.js';
import { readHostRulesets } from '../../firewall/host-rulesets.js';
import { CliError } from '../cli-error.js';
import { fwknopOptions } from './fwknop-flags.js';

export interface DoctorOptions {
  readonly config: string;
  /** A knockd.conf or fwknopd access.conf that `serve` runs as it is (instead of `config`). */
  readonly knockdConf?: string;
  readonly fwknopAccess?: string;
  /** With fwknopAccess: `--hide`. */
  readonly hide?: string;
  readonly stateDir: string;
  readonly json: boolean;
}

const SYSCTLS = ['net.ipv4.conf.all.rp_filter', 'net.ipv4.conf.default.rp_filter', 'net.ipv6.conf.all.disable_ipv6'];

/**
 * `sesame doctor`: reads the host (firewall rules of every tool, listeners, sysctls, files)
 * and prints what would stop a grant from working or a door from hiding, each with its fix.
 * Throws E_DOCTOR (exit 1) after printing when there are problems.
 */
export async function doctor(opts: DoctorOptions, out: (text: string) => void): Promise<void> {
  const findings = diagnose(await readHost(opts));
  const problems = findings.filter((f) => f.severity === 'problem').length;
  if (opts.json) out(`${JSON.stringify({ problems, findings }, null, 2)}\n`);
  else out(format(findings));
  if (problems > 0) throw new CliError('E_DOCTOR', `${problems} problem${problems === 1 ? '' : 's'} found`, 1);
}

function format(findings: readonly Finding[]): string {
  const lines = findings.map((f) => `${f.severity}: ${f.text}\n  fix: ${f.fix}\n`);
  const problems = findings.filter((f) => f.severity === 'problem').length;
  lines.push(problems === 0 ? 'sesame doctor: no problems found\n' : '');
  return lines.join('\n');
}

/** Everything diagnose() needs, read once. Only "does not exist" reads as absent. */
export async function readHost(
  opts: Pick<DoctorOptions, 'config' | 'knockdConf' | 'fwknopAccess' | 'hide' | 'stateDir'>,
): Promise<HostFacts> {
  const plan = loadPlan(opts);
  const rulesets = await readHostRulesets().catch((err: unknown) => {
    if (!(err instanceof FirewallError)) throw err;
    if (!err.ran) throw new CliError('E_DOCTOR', 'cannot run nft: is nftables installed?', 1);
    throw new CliError('E_DOCTOR', `nft -j list ruleset failed: ${err.stderr.trim()} (run as root)`, 1);
  });
  return {
    plan,
    ...rulesets,
    listeners: [...(await listeners('tcp')), ...(await listeners('udp'))],
    sysctl: Object.fromEntries(SYSCTLS.map((k) => [k, readProc(`/proc/sys/${k.replaceAll('.', '/')}`)])),
    nflogGroups: nflogGroups(),
    stateDir: stateDir(opts.stateDir),
    secrets: [
      ...(plan ? secretFiles(plan) : []),
      ...(opts.fwknopAccess ? fileMode(opts.fwknopAccess, 'the access.conf') : []),
    ],
  };
}

/** The doors as `serve` would load them from the same options; null when no config exists. */
function loadPlan(opts: Pick<DoctorOptions, 'config' | 'knockdConf' | 'fwknopAccess' | 'hide'>): Plan | null {
  if (opts.knockdConf) return loadKnockdConf(opts.knockdConf).plan;
  if (opts.fwknopAccess) return loadFwknopAccess(opts.fwknopAccess, undefined, fwknopOptions(opts));
  return existsSync(opts.config) ? loadConfigFile(opts.config, { readableSecrets: 'warn' }) : null;
}

async function listeners(proto: 'tcp' | 'udp'): Promise<{ proto: 'tcp' | 'udp'; port: number }[]> {
  const r = await execFile('ss', ['-Hln', proto === 'tcp' ? '-t' : '-u']);
  if (r.code !== 0) throw new CliError('E_DOCTOR', `ss failed: ${r.stderr.trim()}`, 1);
  return r.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[3])
    .filter(Boolean)
    .map((local) => ({ proto, port: Number(local.slice(local.lastIndexOf(':') + 1)) }))
    .filter((l) => Number.isInteger(l.port));
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** /proc/net/netfilter/nfnetlink_log: `group portid queued copy_mode copy_range flush_timeout use`. */
function nflogGroups(): { group: number; holder?: string }[] {
  const text = readProc('/proc/net/netfilter/nfnetlink_log') ?? '';
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter((f) => f.length >= 2 && Number.isInteger(f[0]))
    .map(([group, portid]) => {
      // a process's first netlink socket has its pid as port id
      const holder = portid > 0 ? readProc(`/proc/${portid}/cmdline`)?.replaceAll('\0', ' ').trim() : undefined;
      return holder ? { group, holder } : { group };
    });
}

function stateDir(path: string): HostFacts['stateDir'] {
  const s = statSync(path, { throwIfNoEntry: false });
  if (!s) return { path, exists: false, writable: false };
  let writable = true;
  try {
    accessSync(path, constants.W_OK);
  } catch {
    writable = false;
  }
  return { path, exists: true, writable: writable && s.isDirectory(), mode: s.mode };
}

function secretFiles(plan: Plan): HostFacts['secrets'] {
  const files: { path: string; what: string }[] = [];
  for (const d of plan.doors) {
    if (d.kind === 'http' && d.http.secretFile)
      files.push({ path: d.http.secretFile, what: `door "${d.name}"'s secret` });
    if (d.kind === 'shared') files.push({ path: d.shared.secretFile, what: `door "${d.name}"'s secret` });
  }
  if (plan.http?.tls) files.push({ path: plan.http.tls.key, what: "the web endpoint's TLS key" });
  return files.flatMap((f) => fileMode(f.path, f.what));
}

function fileMode(path: string, what: string): HostFacts['secrets'] {
  const s = statSync(path, { throwIfNoEntry: false });
  return s ? [{ path, what, mode: s.mode, uid: s.uid }] : [];
}
