import { FirewallError } from '../../firewall/exec.js';
import { Nftables, type TableListing } from '../../firewall/nftables.js';
import { type FleetStatus, formatFleetStatus, readFleetStatus } from '../../fleet/fleet-status.js';
import { CliError } from '../cli-error.js';

/** What status asks the firewall backend (the nftables one; a fake in tests). */
export interface StatusFirewall {
  listTable(): Promise<TableListing | null>;
}

/**
 * `sesame status`: doors and open grants with remaining seconds, read from the kernel in one
 * listing. Only an absent table is "no doors loaded"; when nft can't be asked (not root,
 * nftables missing) it fails with the reason (E_STATUS, exit 1).
 */
export async function status(
  opts: { json: boolean; stateDir?: string },
  firewall: StatusFirewall = new Nftables(),
): Promise<string> {
  let fleet: FleetStatus | null = null;
  let fleetProblem: string | undefined;
  try {
    fleet = opts.stateDir ? readFleetStatus(opts.stateDir) : null;
  } catch (err) {
    fleetProblem = `fleet: status unreadable in ${opts.stateDir} (${(err as Error).message})`;
  }
  let table: TableListing | null;
  try {
    table = await firewall.listTable();
  } catch (err) {
    throw statusError(err);
  }
  if (!table)
    return opts.json
      ? JSON.stringify({ loaded: false, doors: [], grants: [] })
      : 'sesame: no doors loaded (table inet sesame is absent)';
  const { doors, grants } = table;
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

/** Why the kernel couldn't be asked, for the user; as non-root, what to do about it. */
function statusError(err: unknown): unknown {
  if (!(err instanceof FirewallError)) return err;
  if (!err.ran)
    return new CliError(
      'E_STATUS',
      `cannot run nft (is nftables installed?): ${(err.cause as Error | undefined)?.message ?? err.message}`,
      1,
    );
  const denied = /Operation not permitted|Permission denied/.test(err.stderr);
  return new CliError(
    'E_STATUS',
    `cannot read the doors from the kernel: ${err.message}${denied ? '\nsesame status reads nftables, which needs root (CAP_NET_ADMIN): run it with sudo' : ''}`,
    1,
  );
}
