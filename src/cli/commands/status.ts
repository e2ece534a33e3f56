import { execFile } from '../../firewall/exec.js';
import { parseGrantSet, TABLE } from '../../core/kernel-names.js';
import { parseGrants } from '../../firewall/nftables.js';
import { type FleetStatus, formatFleetStatus, readFleetStatus } from '../../fleet/fleet-status.js';

/** `sesame status`: doors and open grants with remaining seconds, read from the kernel in one listing. */
export async function status(opts: { json: boolean; stateDir?: string }): Promise<string> {
  let fleet: FleetStatus | null = null;
  let fleetProblem: string | undefined;
  try {
    fleet = opts.stateDir ? readFleetStatus(opts.stateDir) : null;
  } catch (err) {
    fleetProblem = `fleet: status unreadable in ${opts.stateDir} (${(err as Error).message})`;
  }
  const r = await execFile('nft', ['-j', 'list', 'table', 'inet', TABLE]);
  if (r.code !== 0)
    return opts.json
      ? JSON.stringify({ loaded: false, doors: [], grants: [] })
      : 'sesame: no doors loaded (table inet sesame is absent)';
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
