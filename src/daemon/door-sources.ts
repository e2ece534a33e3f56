import type { Door, Plan } from '../core/door.js';
import type { Nftables } from '../firewall/nftables.js';
import { httpKnockSource } from '../sources/http/source.js';
import { logWatchSource } from '../sources/logwatch/source.js';
import { sharedTokenSource } from '../sources/shared-token.js';
import type { Logger } from './logger.js';

/**
 * Doors whose knock the kernel can't see (HTTP tokens, access logs, one-time sequences)
 * run a source in the daemon. A source calls `grant`, which adds the address to the
 * door's kernel grant set with the door's timeout, so expiry stays the kernel's job.
 */
export interface GrantContext {
  readonly plan: Plan;
  readonly logger: Logger;
  readonly firewall: Nftables;
  readonly stateDir: string;
  /** Opens `door` for `address` (v4 or v6 text) for the door's `for`; `via` names the source in logs. */
  grant(door: Door, address: string, via: string): Promise<void>;
}

export interface DoorSource {
  stop(): Promise<void> | void;
}

/** Returns a running source for doors it handles, or null for other doors. */
export type SourceFactory = (door: Door, ctx: GrantContext) => Promise<DoorSource | null>;

/** Every daemon-side source. Add one: a file in sources/, one line here. */
export const SOURCE_FACTORIES: SourceFactory[] = [sharedTokenSource, logWatchSource, httpKnockSource];
