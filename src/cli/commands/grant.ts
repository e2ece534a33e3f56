import { join } from 'node:path';
import type { Family } from '../../core/door.js';
import { humanDuration, parseDuration } from '../../core/duration.js';
import { isDoorName } from '../../core/door-name.js';
import { grantSet, TABLE } from '../../core/kernel-names.js';
import {
  CONTROL_SOCKET,
  type ControlReply,
  grantAddress,
  MAX_GRANT_MS,
  validGrantMs,
} from '../../daemon/control-protocol.js';
import { sendControl } from '../../daemon/control-socket.js';
import { Nftables } from '../../firewall/nftables.js';
import { CliError } from '../cli-error.js';

export interface GrantCliOptions {
  readonly for?: string;
  readonly stateDir: string;
}

/**
 * `sesame grant DOOR ADDRESS [--for 10m]`: with a daemon listening on its control socket, the
 * daemon grants (logged, `run` commands, its firewall queue); without one, the kernel set is
 * written directly, and the kernel still expires it.
 */
export async function grantCommand(door: string, address: string, opts: GrantCliOptions): Promise<string> {
  const addr = checkAddress(address);
  let forMs: number | undefined;
  if (opts.for !== undefined) {
    forMs = parseDuration(opts.for) ?? undefined;
    if (!validGrantMs(forMs))
      throw new CliError(
        'E_USAGE',
        `--for ${JSON.stringify(opts.for)}: expected a duration from 1s to ${humanDuration(MAX_GRANT_MS)}, e.g. 10m`,
        2,
      );
  }
  const socket = join(opts.stateDir, CONTROL_SOCKET);
  const reply = await sendControl(socket, { op: 'grant', door, address: addr, ...(forMs ? { forMs } : {}) });
  if (reply) {
    const r = accepted(reply);
    const until = r.expiresAt ? ` until ${new Date(r.expiresAt).toLocaleTimeString('en-GB')}` : '';
    return `${door} open for ${addr}${until} (by the running daemon)`;
  }
  const nft = new Nftables();
  const set = await grantSetOf(nft, door, familyOf(addr));
  const ms = forMs ?? set.timeoutMs;
  if (!ms) throw new CliError('E_GRANT', `door "${door}" has no grant lifetime in the kernel; pass --for`, 2);
  await nft.grant(door, familyOf(addr), addr, ms);
  return `${door} open for ${addr} for ${humanDuration(ms)} (in the kernel; no daemon at ${socket}, so nothing logged it)`;
}

/** `sesame revoke DOOR ADDRESS`: ends a grant now. Established connections stay up. */
export async function revokeCommand(
  door: string,
  address: string,
  opts: Pick<GrantCliOptions, 'stateDir'>,
): Promise<string> {
  const addr = checkAddress(address);
  const socket = join(opts.stateDir, CONTROL_SOCKET);
  const reply = await sendControl(socket, { op: 'revoke', door, address: addr });
  let had: boolean;
  if (reply) had = accepted(reply).had !== false;
  else {
    const nft = new Nftables();
    await grantSetOf(nft, door, familyOf(addr));
    had = await nft.revoke(door, familyOf(addr), addr);
  }
  if (!had) throw new CliError('E_NO_GRANT', `${door} had no grant for ${addr}`, 1);
  return `${door} closed for ${addr}${reply ? ' (by the running daemon)' : ''}`;
}

function checkAddress(address: string): string {
  const a = grantAddress(address);
  if (!a) throw new CliError('E_USAGE', `${JSON.stringify(address)} is not an IPv4 or IPv6 address`, 2);
  return a;
}

const familyOf = (address: string): Family => (address.includes(':') ? 6 : 4);

function accepted(reply: ControlReply): Extract<ControlReply, { ok: true }> {
  if (!reply.ok) throw new CliError('E_GRANT', `the daemon refused: ${reply.error}`, 1);
  return reply;
}

/** The door's grant set as loaded: it must exist and hold plain addresses. */
async function grantSetOf(nft: Nftables, door: string, family: Family): Promise<{ timeoutMs: number }> {
  if (!isDoorName(door)) throw new CliError('E_USAGE', `"${door}" is not a door name`, 2);
  const set = await nft.grantSetInfo(door, family);
  if (!set)
    throw new CliError(
      'E_NO_DOOR',
      `no door "${door}" is loaded (no set ${grantSet(door, family)} in table inet ${TABLE}); see sesame status`,
      1,
    );
  if (set.perPort) throw new CliError('E_GRANT', `door "${door}" grants per port; grant it with the daemon running`, 1);
  return set;
}
