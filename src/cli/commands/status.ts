import { parseGrantSet, TABLE } from '../../core/kernel-names.js';
import { type Exec, execFile } from '../../firewall/exec.js';
import { parseGrants } from '../../firewall/nftables.js';
import { type FleetStatus, formatFleetStatus, readFleetStatus } from '../../fleet/fleet-status.js';
import { CliError } from '../cli-error.js';

/** nft's answer when the table isn't there; anything else that fails is a failure, not "absent". */
const ABSENT = /No such file or directory/;

/**
 * `sesame status`: doors and open grants with remaining seconds, read from the kernel in one
 * listing. Only an absent table is "no doors loaded"; when nft can't be asked (not root,
 * nftables missing) it fails with the reason (E_STATUS, exit 1).
 */
export async function status(opts: { json: boolean; stateDir?: string }, exec: Exec = execFile): Promise<string> {
  let fleet: FleetStatus | null = null;
  let fleetProblem: string | undefined;
  try {
    fleet = opts.stateDir ? readFleetStatus(opts.stateDir) : null;
  } catch (err) {
    fleetProblem = `fleet: status unreadable in ${opts.stateDir} (${(err as Error).message})`;
  }
  const args = ['-j', 'list', 'table', 'inet', TABLE];
  let r: Awaited<ReturnType<Exec>>;
  try {
    r = await exec('nft', args);
  } catch (err) {
    throw new CliError('E_STATUS', `cannot run nft (is nftables installed?): ${(err as Error).message}`, 1);
  }
  if (r.code !== 0 && ABSENT.test(r.stderr))
    return opts.json
      ? JSON.stringify({ loaded: false, doors: [], grants: [] })
      : 'sesame: no doors loaded (table inet sesame is absent)';
  if (r.code !== 0) {
    const denied = /Operation not permitted|Permission denied/.test(r.stderr);
    throw new CliError(
      'E_STATUS',
      `cannot read the doors from the kernel: nft ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim() || 'no error output'}${denied ? '\nsesame status reads nftables, which needs root (CAP_NET_ADMIN): run it with sudo' : ''}`,
      1,
    );
  }
  const sets: { set?: { name: string } }[] = JSON.parse(r.stdout).nftables ?? [];
  const doors = [...new Set(sets.map((item) => item.set && parseGrantSet(item.set.name)?.door).filter(Boolean))];
  const grants = parseGrants(r.stdout);
  if (opts.json) return JSON.stringify({ loaded: true, doors, grants, ...(fleet ? { fleet } : {}) }, null, 2);
  const lines = [`doors: ${doors.join(', ') || '(none)'}`];
  if (grants.length === 0) lines.push('open grants: none');
  else {
    lines.push('open grants:');
    for (const g of grants)
      lines.push(`  ${g.door.padEnd(16)} ${g.address.padEnd(40)} ${Math.round(g.expiresMs / 1000)}s left`);
  }
  if (fleet) lines.push(...formatFleetStatus(fleet));
  if (fleetProblem) lines.push(fleetProblem);
  return lines.join('\n');
}
