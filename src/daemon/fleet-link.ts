import { readSecretFile } from '../config/secret-file.js';
import type { Logger, ReplayCache } from '../core/contracts.js';
import type { Door, Plan } from '../core/door.js';
import { grantsPerPort } from '../core/kernel-names.js';
import { FleetNode } from '../fleet/fleet-node.js';
import type { FleetChange } from '../fleet/fleet-reader.js';
import { writeFleetStatus } from '../fleet/fleet-status.js';
import type { GrantOptions } from '../sources/door-source.js';
import type { DaemonEvents } from './daemon-events.js';

/** What the fleet needs from the daemon. */
export interface FleetHost {
  readonly events: DaemonEvents;
  grantMany(items: readonly { door: Door; address: string; opts: GrantOptions }[]): Promise<void>;
  revoke(door: Door, address: string, opts?: { origin?: string }): Promise<boolean>;
  /** The grants this node holds now (`until` on the local clock). */
  heldGrants(): readonly { readonly door: string; readonly address: string; readonly until: number }[];
}

export interface FleetLink {
  /** Connects and catches up: call once the kernel's kept grants are known (catch-up reconciles them). */
  start(): void;
  stop(): Promise<void>;
  /** Wraps a source's local replay cache so used tokens are refused on every node. */
  readonly sharedReplay: (local: ReplayCache) => ReplayCache;
}

/**
 * Fleet mode for a plan with `fleet:` (null without it). Every grant this node makes or sees,
 * whatever made it, is published; grants and revocations from other nodes go into this node's
 * kernel with their remaining time. Expired and flushed grants are not published: every kernel
 * expires its own copy. The node connects in the background; the daemon never waits for Redis.
 */
export function linkFleet(
  plan: Plan,
  host: FleetHost,
  deps: { readonly doors: () => readonly Door[]; readonly logger: Logger; readonly stateDir: string },
): FleetLink | null {
  if (!plan.fleet) return null;
  const doorNamed = (name: string) => deps.doors().find((d) => d.name === name);
  const node = new FleetNode({
    settings: plan.fleet,
    key: readSecretFile(plan.fleet.keyFile),
    doors: deps.doors,
    apply: (changes) => apply(host, changes),
    held: () => host.heldGrants(),
    log: (level, event, fields) => deps.logger.log(level, event, fields),
    onStatus: (status) => {
      try {
        writeFleetStatus(deps.stateDir, status);
      } catch (err) {
        deps.logger.log('debug', 'state-write-failed', { what: 'fleet status', reason: String(err) });
      }
    },
  });
  const unsubscribe = [
    host.events.on('granted', (e) => {
      const door = doorNamed(e.door);
      // grants from other nodes are theirs to publish
      if (door && !e.origin) node.granted(door, e.address, e.expiresAt, grantsPerPort(door) ? e.ports : undefined);
    }),
    host.events.on('revoked', (e) => {
      const door = doorNamed(e.door);
      if (door && !e.origin && (e.reason === 'close sequence' || e.reason === 'revoked')) node.revoked(door, e.address);
    }),
  ];
  return {
    start: () => node.start(),
    sharedReplay: (local) => node.replay.wrap(local),
    async stop() {
      for (const u of unsubscribe) u();
      await node.stop();
    },
  };
}

/** Received grants in one kernel batch, then revocations one by one (they are rare). */
async function apply(host: FleetHost, changes: readonly FleetChange[]): Promise<void> {
  const grants = changes.filter((c) => c.kind === 'grant');
  if (grants.length > 0)
    await host.grantMany(
      grants.map((c) => ({
        door: c.door,
        address: c.address,
        opts: {
          via: 'fleet',
          forMs: c.remainingMs,
          origin: c.origin,
          // SPA doors grant per port: the ports the packet asked for, not the whole door
          ...(grantsPerPort(c.door) ? { ports: c.ports } : {}),
        },
      })),
    );
  for (const c of changes) if (c.kind === 'revoke') await host.revoke(c.door, c.address, { origin: c.origin });
}
