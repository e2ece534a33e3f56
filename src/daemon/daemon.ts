import { useOneTimeSequence } from '../config/one-time-file.js';
import { commandFor } from '../core/door-commands.js';
import type { Door, Family, OneTimeDoor, Plan, PortSpec } from '../core/door.js';
import { formatPort } from '../core/door.js';
import type { WatchedGrant } from '../core/grant-book.js';
import { parseLogPrefix } from '../core/kernel-names.js';
import type { Grant } from '../firewall/nftables.js';
import type { DoorSource, EndReason, GrantContext, GrantOptions } from '../sources/door-source.js';
import type { LoggedPacket } from '../sources/nflog-decode.js';
import type { PacketSource } from '../sources/nflog.js';
import { CommandRunner } from './command-runner.js';
import { FirewallQueue } from './firewall-queue.js';
import type { FleetLink } from './fleet-link.js';
import { GrantEvents } from './grant-events.js';
import type { GrantStore } from './grant-store.js';
import { GrantWatcher } from './grant-watcher.js';
import type { Logger } from './logger.js';
import { type CommandResult, expandCommand } from './run-command.js';
import { SOURCE_FACTORIES } from './source-factories.js';
import { stopDecision } from './stop-policy.js';

/** The firewall operations the daemon uses (the nftables backend; a fake in unit tests). */
export interface DaemonFirewall {
  /** Loads the plan's ruleset in one transaction, keeping running grants; throws when it can't list or load. */
  apply(plan: Plan): Promise<{ kept: readonly Grant[] }>;
  /** Replaces door `door`'s rules and knock state only (one-time swap), keeping every grant. */
  replaceDoor(before: Plan, after: Plan, door: string): Promise<void>;
  flush(): Promise<void>;
  grant(door: string, family: Family, address: string, forMs: number, ports?: readonly PortSpec[]): Promise<void>;
  revoke(door: string, family: Family, address: string): Promise<boolean>;
  /** Many grants in one transaction (grants from other fleet nodes); absent: one `grant` each. */
  grantMany?(
    grants: readonly { door: string; family: Family; address: string; forMs: number; ports?: readonly PortSpec[] }[],
  ): Promise<void>;
  /** Throws when the kernel can't be asked (never "no grants" for a failed listing). */
  listDoorGrants(doors: readonly string[]): Promise<Grant[]>;
}

export interface DaemonDeps {
  readonly firewall: DaemonFirewall;
  readonly openPackets: (group: number) => Promise<PacketSource>;
  readonly store: GrantStore;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Door commands running at once, at most (default 8). */
  readonly commandLimit?: number;
  /** Runs one door command (default: /bin/sh -c, see run-command.ts); a fake in unit tests. */
  readonly runCommand?: (command: string) => Promise<CommandResult>;
}

/** Reads and validates the config (sesame.yaml or knockd.conf); throws (or rejects with) ConfigError. */
export type ConfigLoader = () => Plan | Promise<Plan>;

/**
 * The control plane, wired from its parts: the kernel runs the doors and expires grants;
 * the daemon loads the ruleset through one queue of firewall changes (`changes`), turns
 * NFLOG events and sources' grants into log lines, events and door commands (`commands`,
 * bounded), and watches each grant until the kernel says it has ended (`watcher`, with the
 * pending stops kept durable in `store`).
 */
export class Daemon {
  private plan!: Plan;
  private packets?: PacketSource;
  private sources: DoorSource[] = [];
  private readonly changes = new FirewallQueue();
  private readonly commands: CommandRunner;
  private readonly watcher: GrantWatcher;
  /** Every grant and end, for fleet replication and metrics. */
  readonly events: GrantEvents;
  /** Fleet mode: this node's grants go to the other nodes, theirs come here (null without `fleet:`). */
  private fleet: FleetLink | null = null;
  private readonly now: () => number;
  private overruns = 0;
  private overrunLogged = 0;

  constructor(
    private readonly load: ConfigLoader,
    private readonly deps: DaemonDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.events = new GrantEvents(deps.logger);
    this.commands = new CommandRunner(deps.logger, { limit: deps.commandLimit, run: deps.runCommand });
    this.watcher = new GrantWatcher({
      list: (doors) => deps.firewall.listDoorGrants(doors),
      store: deps.store,
      logger: deps.logger,
      now: this.now,
      expired: (g) => this.ended(g, 'expired'),
    });
  }

  /**
   * Validates, reads the pending stops (refusing an unsafe state folder), binds NFLOG (fails
   * if another sesame runs), then loads the ruleset.
   */
  async start(): Promise<void> {
    const plan = await this.load();
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
    this.packets.on('packet', (p) => this.onPacket(p));
    this.packets.on('invalid', (reason) => this.deps.logger.log('debug', 'invalid-packet', { reason }));
    this.packets.on('overrun', () => this.onOverrun());
    const { kept } = await this.changes.run('load', () => this.deps.firewall.apply(plan));
    this.plan = plan;
    this.watcher.load(pending);
    for (const g of kept) this.watcher.adopt(g);
    this.deps.logger.log('info', 'started', {
      config: plan.source,
      doors: plan.doors.map((d) => d.name),
      kept: kept.length,
      pending_stops: pending.length,
      nflog: plan.nflogGroup,
    });
    // Redis's client is loaded only in fleet mode: a node running alone never pays for it
    this.fleet = plan.fleet
      ? (await import('./fleet-link.js')).startFleet(plan, this, {
          doors: () => this.plan.doors,
          logger: this.deps.logger,
          stateDir: this.deps.store.dir,
        })
      : null;
    await this.startSources();
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
          return null;
        }
        const { kept } = await this.deps.firewall.apply(plan);
        this.plan = plan;
        return kept;
      });
      if (!kept || !plan) return false;
      await this.stopSources();
      await this.startSources();
      this.deps.logger.log('info', 'reloaded', { doors: plan.doors.map((d) => d.name), kept: kept.length });
      return true;
    } catch (err) {
      // nft refused the ruleset or couldn't list the running grants (the old table and its
      // grants stay loaded), or a source could not start
      this.deps.logger.log('error', 'reload-failed', { reason: String((err as Error).message) });
      return false;
    }
  }

  /**
   * Stops listening, waits for queued firewall changes (a one-time swap in flight lands
   * first), then flushes if asked, and waits for the door commands still queued. The kernel
   * doors keep working unless `flush` is set.
   */
  async stop(flush: boolean): Promise<void> {
    this.watcher.stop();
    this.packets?.close();
    await this.stopSources();
    await this.fleet?.stop();
    await this.changes.close(flush ? () => this.deps.firewall.flush() : undefined);
    if (flush) for (const g of this.watcher.list()) this.end(g.door, g.address, 'flushed');
    await this.commands.drain();
    this.deps.store.close();
    this.deps.logger.log(
      'info',
      'stopped',
      flush ? { flushed: true } : { flushed: false, note: 'doors stay active in the kernel' },
    );
  }

  /** Grants from daemon-side sources go to the same kernel grant set as kernel knocks. */
  async grant(door: Door, address: string, opts: GrantOptions): Promise<void> {
    const family: Family = address.includes(':') ? 6 : 4;
    const forMs = opts.forMs ?? door.forMs;
    await this.changes.run('grant', () => this.deps.firewall.grant(door.name, family, address, forMs, opts.ports));
    this.opened(door, family, address, opts.via, { forMs, ports: opts.ports, origin: opts.origin });
  }

  /**
   * Many grants in one firewall transaction: what other fleet nodes granted arrives in batches
   * (a busy fleet sends hundreds a second, one `nft` run each could not keep up).
   */
  async grantMany(items: readonly { door: Door; address: string; opts: GrantOptions }[]): Promise<void> {
    const entries = items.map(({ door, address, opts }) => ({
      door: door.name,
      family: (address.includes(':') ? 6 : 4) as Family,
      address,
      forMs: opts.forMs ?? door.forMs,
      ...(opts.ports ? { ports: opts.ports } : {}),
    }));
    const batch = this.deps.firewall.grantMany?.bind(this.deps.firewall);
    await this.changes.run('grant', async () => {
      if (batch) await batch(entries);
      else for (const e of entries) await this.deps.firewall.grant(e.door, e.family, e.address, e.forMs, e.ports);
    });
    items.forEach(({ door, address, opts }, i) =>
      this.opened(door, entries[i].family, address, opts.via, {
        forMs: entries[i].forMs,
        ports: opts.ports,
        origin: opts.origin,
      }),
    );
  }

  /** Removes a grant from the kernel now; its stop command runs as for any end. */
  async revoke(door: Door, address: string, opts: { origin?: string } = {}): Promise<boolean> {
    const family: Family = address.includes(':') ? 6 : 4;
    const had = await this.changes.run('revoke', () => this.deps.firewall.revoke(door.name, family, address));
    this.end(door.name, address, 'revoked', opts.origin);
    return had;
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
      onGrant: (l) => this.events.onGrant(l),
      onRevoke: (l) => this.events.onRevoke(l),
      ...(this.fleet ? { sharedReplay: this.fleet.sharedReplay } : {}),
    };
  }

  private async startSources(): Promise<void> {
    const ctx = this.context();
    for (const door of this.plan.doors) {
      for (const factory of SOURCE_FACTORIES) {
        const source = await factory(door, ctx);
        if (source) this.sources.push(source);
      }
    }
  }

  private async stopSources(): Promise<void> {
    const running = this.sources;
    this.sources = [];
    for (const s of running) await s.stop();
  }

  /** The running config's door `name` (the control socket's grants name doors). */
  door(name: string): Door | undefined {
    return this.plan?.doors.find((d) => d.name === name);
  }

  private onPacket(p: LoggedPacket): void {
    const parsed = parseLogPrefix(p.prefix);
    const door = parsed && this.door(parsed.door);
    if (!parsed || !door) {
      this.deps.logger.log('debug', 'unknown-log-prefix', { prefix: p.prefix });
      return;
    }
    if (parsed.event === 'open') {
      this.opened(door, p.family, p.source);
      if (door.kind === 'one-time') this.oneTimeUsed(door.name, parsed.line);
    } else this.end(door.name, p.source, 'close sequence');
  }

  /**
   * The kernel dropped NFLOG messages (the socket's buffer overflowed, ENOBUFS): those
   * knocks still opened their doors, but their log lines and commands are lost. Said at
   * most once a second, with the count.
   */
  private onOverrun(): void {
    this.overruns++;
    if (this.now() - this.overrunLogged < 1000) return;
    this.overrunLogged = this.now();
    this.deps.logger.log('warn', 'nflog-overrun', {
      overruns: this.overruns,
      note: 'the kernel dropped NFLOG events (knocks still open doors; their log lines and commands are lost)',
    });
    this.overruns = 0;
  }

  /**
   * Called for every grant, whatever source made it (kernel knock, http, log watch).
   * With a stop command, start runs once per grant and stop once when it ends; without
   * one, start runs on every knock (knockd's open/close door pairs rely on that).
   */
  opened(
    door: Door,
    family: Family,
    address: string,
    via = 'knock',
    opts: { forMs?: number; ports?: readonly PortSpec[]; origin?: string } = {},
  ): void {
    const until = this.now() + (opts.forMs ?? door.forMs);
    const ports = opts.ports ?? door.open;
    // the stop command is recorded with the grant (durably, before start runs)
    const stopTemplate = commandFor(door.run, 'stop', family);
    const stop = stopTemplate && expandCommand(stopTemplate, address);
    let isNew: boolean;
    try {
      isNew = this.watcher.open({ door: door.name, family, address, until, ...(stop ? { stop } : {}) });
    } catch (err) {
      // the state folder can't be written: the grant is in the kernel, its stop may not survive a crash
      this.deps.logger.log('error', 'state-write-failed', { path: this.deps.store.path, reason: String(err) });
      isNew = true;
    }
    // listeners first: the fleet sends the grant on before this node writes its log line
    this.events.granted({
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
    if (isNew || !stop) this.runStart(door, family, address);
  }

  /** Marks the used one-time sequence in its file and swaps the next one into the kernel. */
  private oneTimeUsed(name: string, line: number | undefined): void {
    this.changes
      .run('one-time swap', async () => {
        const door = this.door(name);
        if (door?.kind !== 'one-time' || !door.knock) return;
        // a second knock of the same sequence before the swap landed: that line is already used
        if (line !== undefined && line !== door.line) return;
        let next: OneTimeDoor;
        let marked: number | null;
        try {
          ({ door: next, marked } = useOneTimeSequence(door));
        } catch (err) {
          this.deps.logger.log('error', 'one-time-mark-failed', { door: name, file: door.file, reason: String(err) });
          return;
        }
        const plan: Plan = { ...this.plan, doors: this.plan.doors.map((d) => (d.name === name ? next : d)) };
        try {
          await this.swapDoor(plan, name);
          this.plan = plan;
        } catch (err) {
          this.deps.logger.log('error', 'one-time-swap-failed', { door: name, reason: String(err) });
          return;
        }
        this.deps.logger.log(next.knock ? 'info' : 'warn', next.knock ? 'one-time-next' : 'door-disabled', {
          door: name,
          file: door.file,
          used: marked ?? undefined,
          line: next.knock ? next.line : undefined,
          reason: next.knock ? undefined : 'no unused sequences left',
        });
      })
      .catch((err) => this.deps.logger.log('warn', 'one-time-swap-skipped', { door: name, reason: String(err) }));
  }

  /**
   * Loads `plan`, which differs from the loaded one in door `name` only, by replacing that
   * door's part: other doors' knocks in progress and every grant stay. If that fails (the
   * table was changed behind sesame's back, say), the whole table is loaded as a reload would,
   * which resets every knock in progress but keeps the grants.
   */
  private async swapDoor(plan: Plan, name: string): Promise<void> {
    try {
      await this.deps.firewall.replaceDoor(this.plan, plan, name);
    } catch (err) {
      this.deps.logger.log('warn', 'one-time-swap-whole-table', {
        door: name,
        reason: String(err),
        note: "replacing only the door's rules failed; loading the whole table resets other doors' knocks in progress",
      });
      await this.deps.firewall.apply(plan);
    }
  }

  /** A grant ended by a close knock, a revoke or a flush. */
  private end(door: string, address: string, reason: EndReason, origin?: string): void {
    const g = this.watcher.close(door, address);
    if (g) return this.ended(g, reason, origin);
    this.deps.logger.log('info', 'close', { door, address, reason });
    // not open here, maybe open on other nodes: listeners (fleet) still hear of the end
    this.events.revoked({
      door,
      family: address.includes(':') ? 6 : 4,
      address,
      reason,
      ...(origin ? { origin } : {}),
    });
  }

  /** Logs the end, tells listeners, and runs the stop the config stands behind. */
  private ended(g: WatchedGrant, reason: EndReason, origin?: string): void {
    this.deps.logger.log('info', 'close', { door: g.door, address: g.address, reason });
    this.events.revoked({ door: g.door, family: g.family, address: g.address, reason, ...(origin ? { origin } : {}) });
    const decision = stopDecision(g, this.door(g.door));
    if ('run' in decision) {
      void this.commands
        .submit({ door: g.door, which: 'stop', address: g.address, command: decision.run })
        .then(() => this.recordDone(g));
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
      void this.commands.submit({
        door: door.name,
        which: 'start',
        address,
        command: expandCommand(template, address),
      });
  }
}
