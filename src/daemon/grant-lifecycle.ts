import { commandFor } from '../core/door-commands.js';
import type { Door, Family, PortSpec } from '../core/door.js';
import { formatPort } from '../core/door.js';
import type { WatchedGrant } from '../core/grant-book.js';
import { addressFamily } from '../core/ip-address.js';
import type { EndReason } from '../sources/door-source.js';
import type { CommandRunner } from './command-runner.js';
import type { DaemonEvents } from './daemon-events.js';
import type { GrantStore } from './grant-store.js';
import type { GrantWatcher } from './grant-watcher.js';
import { expandCommand } from './run-command.js';
import { stopDecision } from './stop-policy.js';
import type { Clock, Logger } from '../core/contracts.js';

export interface GrantLifecycleDeps {
  readonly watcher: GrantWatcher;
  readonly commands: CommandRunner;
  readonly events: DaemonEvents;
  readonly store: GrantStore;
  readonly logger: Logger;
  readonly now: Clock;
  /** The loaded config's door `name`: recorded stop commands run only for doors in it. */
  readonly door: (name: string) => Door | undefined;
}

/** How a grant was made, when not by a kernel knock with the door's settings. */
export interface OpenedOptions {
  readonly forMs?: number;
  readonly ports?: readonly PortSpec[];
  readonly origin?: string;
  /** The grant's own start and stop (expanded), instead of the door's `run` (CMD_CYCLE_*). */
  readonly commands?: { readonly start: string; readonly stop?: string };
}

/**
 * What follows a grant once it is in the kernel, and its end: the watched grant (with its
 * stop command recorded durably), the `granted`/`revoked` events, the `open`/`renew`/`close`
 * log lines and the door's start and stop commands. The kernel change itself is the
 * caller's (the daemon's queue of firewall changes).
 */
export class GrantLifecycle {
  constructor(private readonly deps: GrantLifecycleDeps) {}

  /**
   * Called for every grant, whatever source made it (kernel knock, http, log watch).
   * With a stop command, start runs once per grant and stop once when it ends; without
   * one, start runs on every knock (knockd's open/close door pairs rely on that).
   */
  opened(door: Door, family: Family, address: string, via = 'knock', opts: OpenedOptions = {}): void {
    const until = this.deps.now() + (opts.forMs ?? door.forMs);
    const ports = opts.ports ?? door.open;
    // the stop command is recorded with the grant (durably, before start runs)
    const stopTemplate = commandFor(door.run, 'stop', family);
    const stop = opts.commands ? opts.commands.stop : stopTemplate && expandCommand(stopTemplate, address);
    let isNew: boolean;
    try {
      isNew = this.deps.watcher.open({ door: door.name, family, address, until, ...(stop ? { stop } : {}) });
    } catch (err) {
      // the state folder can't be written: the grant is in the kernel, its stop may not survive a crash
      this.deps.logger.log('error', 'state-write-failed', { path: this.deps.store.path, reason: String(err) });
      isNew = true;
    }
    // listeners first: the fleet sends the grant on before this node writes its log line
    this.deps.events.emit('granted', {
      door: door.name,
      family,
      address,
      via,
      ports,
      expiresAt: until,
      renewed: !isNew,
      ...(opts.origin ? { origin: opts.origin } : {}),
    });
    this.deps.logger.log('info', isNew ? 'open' : 'renew', {
      door: door.name,
      address,
      via,
      ports: ports.map(formatPort),
      expires: new Date(until).toISOString(),
      origin: opts.origin,
    });
    if (opts.commands)
      void this.deps.commands.submit({ door: door.name, which: 'start', address, command: opts.commands.start });
    else if (isNew || !stop) this.runStart(door, family, address);
  }

  /** A grant ended by a close knock, a revoke or a flush. */
  closed(door: string, address: string, reason: EndReason, origin?: string): void {
    const g = this.deps.watcher.close(door, address);
    if (g) return this.ended(g, reason, origin);
    this.deps.logger.log('info', 'close', { door, address, reason });
    // not open here, maybe open on other nodes: listeners (fleet) still hear of the end
    this.deps.events.emit('revoked', {
      door,
      family: addressFamily(address),
      address,
      reason,
      ...(origin ? { origin } : {}),
    });
  }

  /** Logs the end, tells listeners, and runs the stop the config stands behind. */
  ended(g: WatchedGrant, reason: EndReason, origin?: string): void {
    this.deps.logger.log('info', 'close', { door: g.door, address: g.address, reason });
    this.deps.events.emit('revoked', {
      door: g.door,
      family: g.family,
      address: g.address,
      reason,
      ...(origin ? { origin } : {}),
    });
    const decision = stopDecision(g, this.deps.door(g.door));
    if ('run' in decision) {
      void this.deps.commands
        .submit({ door: g.door, which: 'stop', address: g.address, command: decision.run })
        .then((ran) => {
          // dropped at stop: it stays pending in the store and runs after the next start
          if (ran) this.recordDone(g);
        });
      return;
    }
    if ('refused' in decision)
      this.deps.logger.log('error', 'stop-refused', {
        door: g.door,
        address: g.address,
        command: decision.command,
        reason: decision.refused,
        note: 'not run: stop commands run only for doors in the loaded config; run it by hand if it is yours',
      });
    this.recordDone(g);
  }

  /** Every grant still watched ended with the table (`stop --flush`). */
  flushed(): void {
    for (const g of this.deps.watcher.list()) this.closed(g.door, g.address, 'flushed');
  }

  private recordDone(g: WatchedGrant): void {
    try {
      this.deps.store.closed(g);
    } catch (err) {
      this.deps.logger.log('error', 'state-write-failed', { path: this.deps.store.path, reason: String(err) });
    }
  }

  private runStart(door: Door, family: Family, address: string): void {
    const template = commandFor(door.run, 'start', family);
    if (template)
      void this.deps.commands.submit({
        door: door.name,
        which: 'start',
        address,
        command: expandCommand(template, address),
      });
  }
}
