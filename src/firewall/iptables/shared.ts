import type { Family, Plan, SharedDoor } from '../../core/door.js';
import { type DoorNames, recentList } from '../../core/kernel-names.js';
import type { IptablesFragment } from './fragment.js';
import { IptablesCompileError, iif, nflog, recentSeen, recentSet, wholeSeconds } from './syntax.js';

/** Shortest IP + TCP header, and longest (no IP options; TCP options up to 40 bytes). */
const HEADERS: Record<Family, { min: number; max: number }> = { 4: { min: 40, max: 80 }, 6: { min: 60, max: 100 } };

/**
 * Shared-port doors with the seed's modules (nft/shared.ts has the full story):
 *  - filter, before the established shortcut: the client's 3rd packet of a connection to
 *    `port` (after SYN and ACK: its first data packet; `connbytes`) containing the secret right
 *    after the headers (`string --from/--to`) puts the address in the `recent` list and is reset;
 *  - nat PREROUTING: a new connection to `port` from a listed address is `REDIRECT`ed to
 *    `redirect_to`, and in `oneshot` mode taken off the list (`recent --remove`);
 *  - filter: the redirected connection is let through (`--ctstate DNAT --ctorigdstport`).
 * Token doors need the daemon, so they are refused here.
 */
export function sharedIptables(door: SharedDoor, names: DoorNames, f: Family, plan: Plan): IptablesFragment {
  const s = door.shared;
  if (s.secretKind === 'token') {
    throw new IptablesCompileError(door.name, 'token shared-port doors need the daemon to check tokens');
  }
  const forS = wholeSeconds(door.name, 'for', door.forMs);
  const knock = names.ipt.sharedKnock;
  const grant = names.grant(f);
  const bytes = s.matchHex.length / 2;
  const { min, max } = HEADERS[f];
  const first = '-m connbytes --connbytes 3:3 --connbytes-dir original --connbytes-mode packets';
  const secret = `-m string --algo bm --from ${min} --to ${max + bytes} --hex-string "|${s.matchHex}|"`;
  const listed = recentSeen(grant, forS);
  const on = `${iif(door)}-p tcp --dport ${s.port}`;
  const consume = s.mode === 'oneshot' ? ` -m recent --name ${recentList(grant)} --remove` : '';
  return {
    chains: [{ name: knock, rules: [recentSet(grant), '-p tcp -j REJECT --reject-with tcp-reset'] }],
    early: [`${on} -m conntrack --ctstate ESTABLISHED ${first} ${secret} -g ${knock}`],
    knocks: [],
    input: [
      `${iif(door)}-p tcp --dport ${s.redirectTo} -m conntrack --ctstate DNAT --ctorigdstport ${s.port} -j RETURN`,
    ],
    nat: [
      `${on} ${listed} ${nflog(plan.nflogGroup, names.logPrefix('open'))}`,
      `${on} ${listed}${consume} -j REDIRECT --to-ports ${s.redirectTo}`,
    ],
    grant: { set: grant, seconds: forS },
    progress: [],
  };
}
