import type { WatchedGrant } from '../core/grant-book.js';
import type { Grant } from '../firewall/nftables.js';
import type { Door, Family, Plan, PortSpec } from '../core/door.js';
import { addressFamily } from '../core/ip-address.js';
import type { DoorSource, GrantContext, GrantOptions } from '../sources/door-source.js';
import type { PacketSource } from '../netfilter/nflog.js';
import { CommandRunner } from './command-runner.js';
import { DaemonEvents } from './daemon-events.js';
import type { DaemonFirewall } from './daemon-firewall.js';
import { FirewallQueue } from './firewall-queue.js';
import type { FleetLink } from './fleet-link.js';
import { GrantLifecycle } from './grant-lifecycle.js';
import type { GrantStore } from './grant-store.js';
import { GrantWatcher } from './grant-watcher.js';
import { KernelKnocks } from './kernel-knocks.js';
import { OneTimeSwap } from './one-time-swap.js';
import { RefusalLog } from './refusal-log.js';
import { SourceStartError } from './source-start-error.js';
import type { CommandResult } from './run-command.js';
import { SOURCE_FACTORIES } from './source-factories.js';
import type { Clock, Logger } from '../core/contracts.js';
import { grantsPerPort } from '../core/kernel-names.js';
import { unknownUserRefs } from '../core/users.js';

export interface DaemonDeps {
  readonly firewall: DaemonFirewall;
  readonly openPackets: (group: number) => Promise<PacketSource>;
  readonly store: GrantStore;
  readonly logger: Logger;
  readonly now?: Clock;
  /** Door commands running at once, at most (default 8). */
  readonly commandLimit?: number;
  /** Runs one door command (default: /bin/sh -c, see run-command.ts); a fake in unit tests. */
  readonly runCommand?: (command: string) => Promise<CommandResult>;
}

/** Reads and validates the config (sesame.yaml or knockd.conf); throws (or rejects with) ConfigError. */
export type ConfigLoader = () => Plan | Promise<Plan>;

/**
 * The control plane, wired from its parts: the kernel runs the doors and expires grants;
 * the daemon loads the ruleset through one queue of firewall changes (`changes`), starts the
 * door sources, hands every grant and end to `grants` (log lines, events, door commands run
 * by `commands`, bounded), reads the kernel's knock log (`kernel`), swaps a used one-time
 * sequence (`oneTime`), and watches each grant until the kernel says it has ended
 * (`watcher`, with the pending stops kept durable in `store`).
 */
export class Daemon {
  private plan!: Plan;
  private packets?: PacketSource;
  private sources: DoorSource[] = [];
  private readonly changes = new FirewallQueue();
  private readonly commands: CommandRunner;
  private readonly watcher: GrantWatcher;
  private readonly grants: GrantLifecycle;
  private readonly oneTime: OneTimeSwap;
  private readonly kernel: KernelKnocks;
  /** Every source's refusals, logged with a bound per kind (a flood is one summary line). */
  private readonly refusals: RefusalLog;
  /** Every grant, end, refusal, door command, reload and NFLOG read, for fleet replication and metrics. */
  readonly events: DaemonEvents;
  /** Fleet mode: this node's grants go to the other nodes, theirs come here (null without `fleet:`). */
  private fleet: FleetLink | null = null;
  private readonly now: Clock;
  /** Resolves once the first ruleset is loaded: sources start before it, their grants wait. */
  private loaded: Promise<void> = Promise.resolve();

  constructor(
    private readonly load: ConfigLoader,
    private readonly deps: DaemonDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.events = new DaemonEvents(deps.logger);
    this.refusals = new RefusalLog((event, fields) => deps.logger.log('warn', event, fields), { now: this.now });
    this.commands = new CommandRunner(deps.logger, {
      limit: deps.commandLimit,
      run: deps.runCommand,
      ran: (r) => this.events.emit('ran', r),
    });
    this.watcher = new GrantWatcher({
      list: (doors) => deps.firewall.listDoorGrants(doors),
      store: deps.store,
      logger: deps.logger,
      now: this.now,
      expired: (g) => this.grants.ended(g, 'expired'),
    });
    this.grants = new GrantLifecycle({
      watcher: this.watcher,
      commands: this.commands,
      events: this.events,
      store: deps.store,
      logger: deps.logger,
      now: this.now,
      door: (name) => this.door(name),
    });
    this.oneTime = new OneTimeSwap({
      changes: this.changes,
      firewall: deps.firewall,
      logger: deps.logger,
      plan: () => this.plan,
      loaded: (plan) => {
        this.plan = plan;
      },
    });
    this.kernel = new KernelKnocks({
      events: this.events,
      grants: this.grants,
      oneTime: this.oneTime,
      logger: deps.logger,
      now: this.now,
      door: (name) => this.door(name),
    });
  }

  /**
   * Validates, reads the pending stops (refusing an unsafe state folder), binds NFLOG (fails
   * if another sesame runs), then loads the ruleset.
   */
  async start(): Promise<void> {
    const plan = await this.load();
    this.warnAbout(plan);
    const { grants: pending, problems } = this.deps.store.open();
    for (const p of problems)
      this.deps.logger.log('error', p.event, {
        path: p.path,
        kept_as: p.keptAs,
        reason: p.reason,
        note: p.keptAs
          ? 'pending stop commands in it were not run: read it and run what is still needed by hand'
          : undefined,
      });
    this.packets = await this.deps.openPackets(plan.nflogGroup);
    this.kernel.attach(this.packets);
    // the sources first: one that can't start (a port in use) stops serve before the firewall
    // changes; what they grant meanwhile waits for the load (grant() awaits `loaded`)
    this.plan = plan;
    let loaded!: () => void;
    this.loaded = new Promise((resolve) => {
      loaded = resolve;
    });
    let kept: readonly Grant[];
    // Redis's client is loaded only in fleet mode: a node running alone never pays for it;
    // linked before the sources, which share its replay cache
    this.fleet = plan.fleet
      ? (await import('./fleet-link.js')).linkFleet(plan, this, {
          doors: () => this.plan.doors,
          logger: this.deps.logger,
          stateDir: this.deps.store.dir,
        })
      : null;
    try {
      await this.startSources();
      ({ kept } = await this.changes.run('load', () => this.deps.firewall.apply(plan)));
    } catch (err) {
      await this.stopSources();
      await this.fleet?.stop();
      this.fleet = null;
      this.packets.close();
      if (err instanceof SourceStartError)
        this.deps.logger.log('error', 'source-failed', {
          door: err.door,
          reason: err.reason,
          note: 'nothing was loaded into the firewall; serve exits',
        });
      throw err;
    }
    loaded();
    this.watcher.load(pending);
    for (const g of kept) this.watcher.adopt(g);
    this.deps.logger.log('info', 'started', {
      config: plan.source,
      doors: plan.doors.map((d) => d.name),
      kept: kept.length,
      pending_stops: pending.length,
      nflog: plan.nflogGroup,
      ...(plan.users ? { users: plan.users.users.length } : {}),
    });
    this.warnUnknownUsers(plan);
    // the fleet connects only now: its catch-up reconciles what this node holds, and a grant
    // revoked while the node was down is dropped only once the kept grants are adopted
    this.fleet?.start();
    await this.watcher.check();
    this.watcher.start();
  }

  /**
   * Re-reads the config; a bad config is logged and the running doors stay as they are.
   * The config is read inside the queue, after any one-time swap queued before: a plan read
   * earlier would put back a sequence line the swap just used.
   */
  async reload(): Promise<boolean> {
    let plan: Plan | undefined;
    try {
      const kept = await this.changes.run('reload', async () => {
        try {
          plan = await this.load();
        } catch (err) {
          this.deps.logger.log('error', 'reload-rejected', { reason: String((err as Error).message) });
          this.events.emit('reloaded', { result: 'rejected' });
          return null;
        }
        this.warnAbout(plan);
        const { kept } = await this.deps.firewall.apply(plan);
        this.plan = plan;
        return kept;
      });
      if (!kept || !plan) return false;
      await this.stopSources();
      await this.startSources();
      this.deps.logger.log('info', 'reloaded', {
        doors: plan.doors.map((d) => d.name),
        kept: kept.length,
        ...(plan.users ? { users: plan.users.users.length } : {}),
      });
      this.warnUnknownUsers(plan);
      this.events.emit('reloaded', { result: 'ok' });
      return true;
    } catch (err) {
      // nft refused the ruleset or couldn't list the running grants (the old table and its
      // grants stay loaded), or a source could not start
      this.deps.logger.log('error', 'reload-failed', { reason: String((err as Error).message) });
      this.events.emit('reloaded', { result: 'failed' });
      return false;
    }
  }

  /**
   * Stops listening, waits for queued firewall changes (a one-time swap in flight lands
   * first), then flushes if asked, lets the running door commands finish and drops the queued
   * ones (one `commands-dropped` line with the count per door; a dropped stop stays pending in
   * the store). The kernel doors keep working unless `flush` is set.
   */
  async stop(flush: boolean): Promise<void> {
    this.watcher.stop();
    this.packets?.close();
    await this.stopSources();
    this.refusals.stop();
    await this.fleet?.stop();
    await this.changes.close(flush ? () => this.deps.firewall.flush() : undefined);
    if (flush) this.grants.flushed();
    const running = this.commands.active;
    const dropped = await this.commands.close();
    if (dropped.size > 0) {
      const doors = Object.fromEntries(dropped);
      this.deps.logger.log('warn', 'commands-dropped', {
        count: [...dropped.values()].reduce((a, n) => a + n, 0),
        doors,
        finished: running,
        note: 'queued door commands were not run; pending stop commands stay in the state dir and run at the next start',
      });
    }
    this.deps.store.close();
    this.deps.logger.log(
      'info',
      'stopped',
      flush ? { flushed: true } : { flushed: false, note: 'doors stay active in the kernel' },
    );
  }

  /** What the config loads with but is weak (check and doctor say it too). */
  private warnAbout(plan: Plan): void {
    for (const w of plan.warnings ?? []) this.deps.logger.log('warn', 'config-warning', { problem: w });
  }

  /** Grants from daemon-side sources go to the same kernel grant set as kernel knocks. */
  async grant(door: Door, address: string, opts: GrantOptions): Promise<void> {
    await this.loaded;
    const family = addressFamily(address);
    const forMs = opts.forMs ?? door.forMs;
    const ports = portsOf(door, opts.ports);
    await this.changes.run('grant', () => this.deps.firewall.grant(door.name, family, address, forMs, ports));
    this.grants.opened(door, family, address, opts.via, {
      forMs,
      ports,
      origin: opts.origin,
      ...(opts.commands ? { commands: opts.commands } : {}),
    });
  }

  /**
   * Many grants in one firewall transaction: what other fleet nodes granted arrives in batches
   * (a busy fleet sends hundreds a second, one `nft` run each could not keep up).
   */
  async grantMany(items: readonly { door: Door; address: string; opts: GrantOptions }[]): Promise<void> {
    await this.loaded;
    const entries = items.map(({ door, address, opts }) => {
      const ports = portsOf(door, opts.ports);
      return {
        door: door.name,
        family: addressFamily(address),
        address,
        forMs: opts.forMs ?? door.forMs,
        ...(ports ? { ports } : {}),
      };
    });
    const batch = this.deps.firewall.grantMany?.bind(this.deps.firewall);
    await this.changes.run('grant', async () => {
      if (batch) await batch(entries);
      else for (const e of entries) await this.deps.firewall.grant(e.door, e.family, e.address, e.forMs, e.ports);
    });
    items.forEach(({ door, address, opts }, i) =>
      this.grants.opened(door, entries[i].family, address, opts.via, {
        forMs: entries[i].forMs,
        ports: entries[i].ports,
        origin: opts.origin,
      }),
    );
  }

  /** Removes a grant from the kernel now; its stop command runs as for any end. */
  async revoke(door: Door, address: string, opts: { origin?: string } = {}): Promise<boolean> {
    await this.loaded;
    const family = addressFamily(address);
    const had = await this.changes.run('revoke', () => this.deps.firewall.revoke(door.name, family, address));
    this.grants.closed(door.name, address, 'revoked', opts.origin);
    return had;
  }

  /** The grants this daemon watches (every door, every origin), `until` on the local clock. */
  heldGrants(): readonly WatchedGrant[] {
    return this.watcher.list();
  }

  /** Resolves when every queued door command has run (tests, and stop()). */
  commandsDone(): Promise<void> {
    return this.commands.drain();
  }

  private context(): GrantContext {
    return {
      plan: this.plan,
      logger: this.deps.logger,
      stateDir: this.deps.store.dir,
      grant: (door, address, opts) => this.grant(door, address, opts),
      revoke: (door, address, opts) => this.revoke(door, address, opts),
      onGrant: (l) => this.events.on('granted', l),
      onRevoke: (l) => this.events.on('revoked', l),
      refused: (e) => {
        this.events.emit('refused', e);
        this.refusals.refused(e);
      },
      ...(this.fleet ? { sharedReplay: this.fleet.sharedReplay } : {}),
    };
  }

  private async startSources(): Promise<void> {
    const ctx = this.context();
    for (const door of this.plan.doors) {
      for (const factory of SOURCE_FACTORIES) {
        let source: DoorSource | null;
        try {
          source = await factory(door, ctx);
        } catch (err) {
          throw new SourceStartError(door.name, String((err as Error)?.message ?? err), { cause: err });
        }
        if (source) this.sources.push(source);
      }
    }
  }

  private async stopSources(): Promise<void> {
    const running = this.sources;
    this.sources = [];
    for (const s of running) await s.stop();
  }

  /** A door's `users:` entry that matches nobody is no load error (see unknownUserRefs): it is logged. */
  private warnUnknownUsers(plan: Plan): void {
    for (const note of unknownUserRefs(plan.doors, plan.users)) this.deps.logger.log('warn', 'users-unknown', { note });
  }

  /** The running config's door `name` (the control socket's grants name doors). */
  door(name: string): Door | undefined {
    return this.plan?.doors.find((d) => d.name === name);
  }

  /** The running config's door names (metrics label values are limited to them). */
  doorNames(): string[] {
    return this.plan?.doors.map((d) => d.name) ?? [];
  }
}

/**
 * The ports a grant writes: a door whose grant set is keyed per port (SPA) needs them, and a
 * grant that names none (`sesame grant`, a fleet message without ports) opens all the door's;
 * other doors' sets hold plain addresses. A per-port door without ports can't be granted.
 */
function portsOf(door: Door, ports: readonly PortSpec[] | undefined): readonly PortSpec[] | undefined {
  if (!grantsPerPort(door)) return ports;
  const all = ports ?? door.open;
  if (all.length === 0)
    throw new Error(`door "${door.name}" opens no ports of its own (no open:); name them in the packet`);
  return all;
}
