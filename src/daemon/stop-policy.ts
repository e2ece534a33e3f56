import { commandFor } from '../core/door-commands.js';
import type { Door } from '../core/door.js';
import type { WatchedGrant } from '../core/grant-book.js';
import { isExpansionOf } from '../core/spa/cmd-cycle.js';
import { expandCommand } from './run-command.js';

export type StopDecision =
  { readonly run: string } | { readonly none: true } | { readonly refused: string; readonly command: string };

/**
 * Which stop command to run for a grant that ended. The state folder is root's, but a stop
 * recorded there is still only run when the loaded config stands behind it: the door exists
 * and its stop command for this address is the recorded one. Anything else (an entry planted
 * in the state, or a door edited or removed since) is refused, and the caller logs the
 * command so an operator can run it by hand.
 */
export function stopDecision(g: WatchedGrant, door: Door | undefined): StopDecision {
  // CMD_CYCLE_CLOSE: each grant's command has its own $PORT, $TIMEOUT..., so the recorded one
  // must be an expansion of the stanza's template
  const close = door?.kind === 'spa' ? door.spa.commands?.close : undefined;
  if (close && g.stop !== undefined)
    return isExpansionOf(close, g.stop)
      ? { run: g.stop }
      : { refused: `door "${g.door}" no longer has this CMD_CYCLE_CLOSE for ${g.address}`, command: g.stop };
  const template = door && commandFor(door.run, 'stop', g.family);
  let expected: string | undefined;
  try {
    expected = template ? expandCommand(template, g.address) : undefined;
  } catch {
    return g.stop === undefined
      ? { none: true }
      : { refused: `${JSON.stringify(g.address)} is not an address`, command: g.stop };
  }
  if (g.stop === undefined) return expected ? { run: expected } : { none: true };
  if (!door) return { refused: `door "${g.door}" is not in the loaded config`, command: g.stop };
  if (expected !== g.stop)
    return { refused: `door "${g.door}" no longer has this stop command for ${g.address}`, command: g.stop };
  return { run: g.stop };
}
