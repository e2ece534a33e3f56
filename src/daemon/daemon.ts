import { useOneTimeSequence } from '../config/one-time-file.js';
import { commandFor } from '../core/door-commands.js';
import type { Door, Family, OneTimeDoor, Plan, PortSpec } from '../core/door.js';
import { formatPort } from '../core/door.js';
import { GrantBook, type WatchedGrant } from '../core/grant-book.js';
import { parseLogPrefix } from '../core/kernel-names.js';
import type { Grant } from '../firewall/nftables.js';
import type { DoorSource, EndReason, GrantContext, GrantOptions } from '../sources/door-source.js';
import type { LoggedPacket } from '../sources/nflog-decode.js';
import type { PacketSource } from '../sources/nflog.js';
import { FirewallQueue } from './firewall-queue.js';
import { type FleetLink, startFleet } from './fleet-link.js';
import { GrantEvents } from './grant-events.js';
import type { Logger } from './logger.js';
import { expandCommand, runShell } from './run-command.js';
import { SOURCE_FACTORIES } from './source-factories.js';
import type { StateFile } from './state-file.js';

/** The firewall operations the daemon uses (the nftables backend; a fake in unit tests). */
export interface DaemonFirewall {
  /** Loads a ruleset in one transaction, keeping running grants; throws when it can't list or load. */
  apply(plan: Plan): Promise<{ kept: readonly Grant[] }>;
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
  readonly state: StateFile;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** Reads and validates the config (sesame.yaml or knockd.conf); throws ConfigError. */
export type ConfigLoader = () => Plan;

/**
 * The control plane. The kernel runs the doors and expires grants; the daemon loads the
 * ruleset, turns NFLOG events into log lines and door commands, and watches each grant
 * until the kernel says it has ended (to run `run.stop` then, also across restarts).
 * Every firewall change goes through one queue (`changes`), which `stop()` drains.
 */
export class Daemon {
  private plan!: Plan;
  private packets?: PacketSource;
  private book = new GrantBook();
  private ticker?: NodeJS.Timeout;
  private checking = false;
  private persistTimer?: NodeJS.Timeout;
  private sources: DoorSource[] = [];
  private readonly changes = new FirewallQueue();
  /** Every grant and end, for fleet replication and metrics. */
  readonly events: GrantEvents;
  /** Fleet mode: this node's grants go to the other nodes, theirs come here (null without `fleet:`). */
  private fleet: FleetLink | null = null;
  private readonly now: () => number;

  constructor(
    private readonly load: ConfigLoader,
    private readonly deps: DaemonDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.events = new GrantEvents(deps.logger);
  }

  /** Validates, binds NFLOG (fails if another sesame runs), then loads the ruleset. */
  async start(): Promise<void> {
    const plan = this.load();
    this.packets = await this.deps.openPackets(plan.nflogGroup);
    this.packets.on('packet', (p) => this.onPacket(p));
    this.packets.on('invalid', (reason) => this.deps.logger.log('debug', 'invalid-packet', { reason }));
    const { kept } = await this.changes.run('load', () => this.deps.firewall.apply(plan));
    this.plan = plan;
    this.book = new GrantBook(this.deps.state.read());
    for (const g of kept) this.adoptKernelGrant(g);
    this.deps.logger.log('info', 'started', {
      config: plan.source,
      doors: plan.doors.map((d) => d.name),
      kept: kept.length,
      nflog: plan.nflogGroup,
    });
    this.persist(true);
    this.fleet = startFleet(plan, this, {
      doors: () => this.plan.doors,
      logger: this.deps.logger,
      stateDir: this.deps.state.dir,
    });
    await this.startSources();
    await this.checkDue();
    this.ticker = setInterval(() => void this.checkDue(), 250);
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
          plan = this.load();
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
   * first), then flushes if asked. The kernel doors keep working unless `flush` is set.
   */
  async stop(flush: boolean): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.packets?.close();
    await this.stopSources();
    await this.fleet?.stop();
    await this.changes.close(flush ? () => this.deps.firewall.flush() : undefined);
    if (flush) {
      for (const g of this.book.list()) {
        this.book.close(g.door, g.address);
        await this.ended(g, 'flushed');
      }
      this.deps.logger.log('info', 'stopped', { flushed: true });
    } else {
      this.deps.logger.log('info', 'stopped', { flushed: false, note: 'doors stay active in the kernel' });
    }
    this.persist(true);
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
    const g = this.book.close(door.name, address);
    if (g) await this.ended(g, 'revoked', opts.origin);
    this.persist(true);
    return had;
  }

  private context(): GrantContext {
    return {
      plan: this.plan,
      logger: this.deps.logger,
      stateDir: this.deps.state.dir,
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
    } else void this.closedByKnock(door, p.source);
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
    // the stop command is kept with the grant, so it runs even if sesame restarts
    const stopTemplate = commandFor(door.run, 'stop', family);
    const stop = stopTemplate && expandCommand(stopTemplate, address);
    const isNew = this.book.open({ door: door.name, family, address, until, ...(stop ? { stop } : {}) });
    this.deps.logger.log('info', isNew ? 'open' : 'renew', {
      door: door.name,
      address,
      via,
      ports: ports.map(formatPort),
      expires: new Date(until).toISOString(),
      origin: opts.origin,
    });
    this.persist(Boolean(stop));
    if (isNew || !stop) void this.runDoorCommand(door, 'start', address);
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
          await this.deps.firewall.apply(plan);
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

  private async closedByKnock(door: Door, address: string): Promise<void> {
    const g = this.book.close(door.name, address);
    if (g) await this.ended(g, 'close sequence');
    else {
      this.deps.logger.log('info', 'close', { door: door.name, address, reason: 'close sequence' });
      // not open here, maybe open on other nodes: listeners (fleet) still hear of the close
      this.events.revoked({
        door: door.name,
        family: address.includes(':') ? 6 : 4,
        address,
        reason: 'close sequence',
      });
    }
    this.persist();
  }

  private adoptKernelGrant(g: Grant): void {
    if (!this.book.get(g.door, g.address)) {
      this.book.open({ door: g.door, family: g.family, address: g.address, until: this.now() + g.expiresMs });
    }
  }

  /** Asks the kernel about grants whose time is up; ended ones are logged and their stop runs. */
  private async checkDue(): Promise<void> {
    if (this.checking) return;
    const due = this.book.due(this.now());
    if (due.length === 0) return;
    this.checking = true;
    try {
      const live = await this.deps.firewall.listDoorGrants([...new Set(due.map((g) => g.door))]);
      for (const g of due) {
        const still = live.find((l) => l.door === g.door && l.address === g.address);
        if (still && still.expiresMs > 0) this.book.open({ ...g, until: this.now() + still.expiresMs });
        else {
          this.book.close(g.door, g.address);
          await this.ended(g, 'expired');
        }
      }
      this.persist(true);
    } catch (err) {
      // the kernel couldn't be asked this time; the grants stay due and are asked about again
      this.deps.logger.log('warn', 'grant-check-failed', { reason: String((err as Error).message) });
    } finally {
      this.checking = false;
    }
  }

  private async ended(g: WatchedGrant, reason: EndReason, origin?: string): Promise<void> {
    this.deps.logger.log('info', 'close', { door: g.door, address: g.address, reason });
    this.events.revoked({ door: g.door, family: g.family, address: g.address, reason, ...(origin ? { origin } : {}) });
    await this.runStop(g);
  }

  /** Runs the stop command recorded with the grant (or, for older state, the door's). */
  private async runStop(g: WatchedGrant): Promise<void> {
    const door = this.door(g.door);
    const template = g.stop === undefined && door ? commandFor(door.run, 'stop', g.family) : undefined;
    const command = g.stop ?? (template && expandCommand(template, g.address));
    if (command) await this.runCommand(g.door, 'stop', g.address, command);
  }

  private async runDoorCommand(door: Door, which: 'start' | 'stop', address: string): Promise<void> {
    const template = commandFor(door.run, which, address.includes(':') ? 6 : 4);
    if (template) await this.runCommand(door.name, which, address, expandCommand(template, address));
  }

  private async runCommand(door: string, which: 'start' | 'stop', address: string, command: string): Promise<void> {
    const r = await runShell(command);
    this.deps.logger.log(r.code === 0 ? 'info' : 'warn', `run-${which}`, {
      door,
      address,
      command,
      exit: r.timedOut ? 'timeout' : r.code,
      output: r.output || undefined,
    });
  }

  /**
   * Writes the grant book. A grant with a stop command is written at once (its stop must
   * survive a crash); anything else is batched into one write per second, so a burst of
   * knocks doesn't rewrite the file per event and starve the NFLOG socket.
   */
  private persist(urgent = false): void {
    if (!urgent) {
      this.persistTimer ??= setTimeout(() => this.persist(true), 1000);
      return;
    }
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    try {
      this.deps.state.write(this.book.list());
    } catch (err) {
      this.deps.logger.log('warn', 'state-write-failed', { path: this.deps.state.path, reason: String(err) });
    }
  }
}
