import type { Door, Family, Plan, PortSpec } from '../core/door.js';
import type { Logger, ReplayCache } from '../core/contracts.js';

/**
 * Where knocks the kernel can't check come from (HTTP tokens, access logs, shared-port
 * tokens, SPA packets, other fleet nodes). A source calls `grant`, which adds the address to
 * the door's kernel grant set with a timeout, so expiry stays the kernel's job.
 *
 * This file is the whole contract between the daemon and its sources: sources import it,
 * the daemon implements it. Nothing here imports the daemon.
 */

/** What a source asks for when it grants. */
export interface GrantOptions {
  /** Names the source in logs and events: `http`, `log`, `token`, `spa`, `fleet`... */
  readonly via: string;
  /**
   * Only these ports (SPA asks for specific ones); absent: the door's `open` ports. Passed on
   * to the firewall, which needs a per-port grant set for the door to honour it.
   */
  readonly ports?: readonly PortSpec[];
  /** Lifetime in ms; absent: the door's `for`. A grant from another node passes its remaining time. */
  readonly forMs?: number;
  /** The node the grant came from, when not this one (fleet): listeners use it to avoid echoes. */
  readonly origin?: string;
  /**
   * This grant's own start and stop commands, already expanded (fwknopd's CMD_CYCLE_OPEN/CLOSE
   * with $PORT, $TIMEOUT...), instead of the door's `run`; the stop is kept as durably.
   */
  readonly commands?: { readonly start: string; readonly stop?: string };
}

/** A grant as the daemon saw it: a kernel knock (via `knock`) or a source's `grant`. */
export interface GrantEvent {
  readonly door: string;
  readonly family: Family;
  readonly address: string;
  readonly via: string;
  readonly ports: readonly PortSpec[];
  /** Epoch ms when the kernel will expire it. */
  readonly expiresAt: number;
  /** True when the address already held the grant and only its time was extended. */
  readonly renewed: boolean;
  readonly origin?: string;
}

/** Why a grant ended: its time ran out, a close knock, `revoke`, or the table was flushed. */
export type EndReason = 'expired' | 'close sequence' | 'revoked' | 'flushed';

export interface RevokeEvent {
  readonly door: string;
  readonly family: Family;
  readonly address: string;
  readonly reason: EndReason;
  readonly origin?: string;
}

/**
 * A knock a source refused. The daemon counts it (metrics, audit) and logs it through its one
 * rate-limited refusal log (daemon/refusal-log.ts); sources never log refusals themselves.
 */
export interface RefusalEvent {
  readonly source: 'http' | 'token' | 'spa' | 'log';
  /** The door the knock named, if any (possibly attacker-chosen: not a configured name). */
  readonly door?: string;
  /** A short word: `bad-token`, `replayed token`, `rate-limited`... */
  readonly reason: string;
  /** The knocker's address, when the source knows it. */
  readonly address?: string;
  /** The log event (default `SOURCE-refused`) and what else its line says. */
  readonly event?: string;
  readonly fields?: Readonly<Record<string, unknown>>;
}

export type Unsubscribe = () => void;

/** What the daemon hands every source. */
export interface GrantContext {
  readonly plan: Plan;
  /** The daemon's event log (see daemon/logger.ts for the formats). */
  readonly logger: Logger;
  /** The daemon's state folder (checked: owned by sesame's user, writable by no one else). */
  readonly stateDir: string;
  /**
   * Opens `door` for `address` (v4 or v6 text). Resolves once the grant is in the kernel;
   * rejects when the firewall refused it or the daemon is stopping.
   */
  grant(door: Door, address: string, opts: GrantOptions): Promise<void>;
  /** Ends a grant now (removes it from the kernel); resolves false when there was none. */
  revoke(door: Door, address: string, opts?: { origin?: string }): Promise<boolean>;
  /** Called after every grant the daemon makes or sees, whatever its source. */
  onGrant(listener: (e: GrantEvent) => void): Unsubscribe;
  /** Called after every grant that ends (expired, closed, revoked, flushed). */
  onRevoke(listener: (e: RevokeEvent) => void): Unsubscribe;
  /** Every refused knock, for the metrics (log it too: this only counts). */
  refused(e: RefusalEvent): void;
  /**
   * Fleet mode: wraps a source's local replay cache so a token used on any node is refused on
   * all (Redis `SET NX`, with the local cache as fallback). Absent when the node runs alone.
   */
  readonly sharedReplay?: (local: ReplayCache) => ReplayCache;
}

export interface DoorSource {
  stop(): Promise<void> | void;
}

/** Returns a running source for doors it handles, or null for other doors. */
export type SourceFactory = (door: Door, ctx: GrantContext) => Promise<DoorSource | null>;
