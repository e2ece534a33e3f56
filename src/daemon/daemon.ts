import { loadConfigFile } from '../config/load-config.js';
import type { Door, Family, Plan } from '../core/door.js';
import { formatPort } from '../core/door.js';
import { GrantBook, type WatchedGrant } from '../core/grant-book.js';
import { compileNft } from '../firewall/nft/compile.js';
import { parseLogPrefix } from '../firewall/nft-names.js';
import type { Grant, Nftables } from '../firewall/nftables.js';
import type { LoggedPacket } from '../sources/nflog-decode.js';
import type { PacketSource } from '../sources/nflog.js';
import { type DoorSource, type GrantContext, SOURCE_FACTORIES } from './door-sources.js';
import type { Logger } from './logger.js';
import { expandCommand, runShell } from './run-command.js';
import type { StateFile } from './state-file.js';

export interface DaemonDeps {
  readonly firewall: Nftables;
  readonly openPackets: (group: number) => Promise<PacketSource>;
  readonly state: StateFile;
  readonly logger: Logger;
  readonly now?: () => number;
}

/**
 * The control plane. The kernel runs the doors and expires grants; the daemon loads the
 * ruleset, turns NFLOG events into log lines and door commands, and watches each grant
 * until the kernel says it has ended (to run `run.stop` then, also across restarts).
 */
export class Daemon {
  private plan!: Plan;
  private packets?: PacketSource;
  private book = new GrantBook();
  private ticker?: NodeJS.Timeout;
  private checking = false;
  private sources: DoorSource[] = [];
  private readonly now: () => number;

  constructor(
    private readonly configFile: string,
    private readonly deps: DaemonDeps,
  ) {
    this.now = deps.now ?? Date.now;
  }

  /** Validates, binds NFLOG (fails if another sesame runs), then loads the ruleset. */
  async start(): Promise<void> {
    const plan = loadConfigFile(this.configFile);
    const ruleset = compileNft(plan);
    this.packets = await this.deps.openPackets(plan.nflogGroup);
    this.packets.on('packet', (p) => this.onPacket(p));
    this.packets.on('invalid', (reason) => this.deps.logger.log('debug', 'invalid-packet', { reason }));
    const { kept } = await this.deps.firewall.apply(ruleset);
    this.plan = plan;
    this.book = new GrantBook(this.deps.state.read());
    for (const g of kept) this.adoptKernelGrant(g);
    this.deps.logger.log('info', 'started', {
      config: this.configFile,
      doors: plan.doors.map((d) => d.name),
      kept: kept.length,
      nflog: plan.nflogGroup,
    });
    this.persist();
    await this.startSources();
    await this.checkDue();
    this.ticker = setInterval(() => void this.checkDue(), 250);
  }

  /** Re-reads the config; a bad config is logged and the running doors stay as they are. */
  async reload(): Promise<boolean> {
    let plan: Plan;
    try {
      plan = loadConfigFile(this.configFile);
    } catch (err) {
      this.deps.logger.log('error', 'reload-rejected', { reason: String((err as Error).message) });
      return false;
    }
    const { kept } = await this.deps.firewall.apply(compileNft(plan));
    this.plan = plan;
    await this.stopSources();
    await this.startSources();
    this.deps.logger.log('info', 'reloaded', { doors: plan.doors.map((d) => d.name), kept: kept.length });
    return true;
  }

  /** Stops listening. The kernel doors keep working unless `flush` is set. */
  async stop(flush: boolean): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.packets?.close();
    await this.stopSources();
    if (flush) {
      await this.deps.firewall.flush();
      for (const g of this.book.list()) await this.ended(g, 'flushed');
      this.deps.logger.log('info', 'stopped', { flushed: true });
    } else {
      this.deps.logger.log('info', 'stopped', { flushed: false, note: 'doors stay active in the kernel' });
    }
    this.persist();
  }

  /** Grants from daemon-side sources go to the same kernel grant set as kernel knocks. */
  async grant(door: Door, address: string, via: string): Promise<void> {
    const family: Family = address.includes(':') ? 6 : 4;
    await this.deps.firewall.grant(door.name, family, address, door.forMs);
    this.opened(door, family, address, via);
  }

  private async startSources(): Promise<void> {
    const ctx: GrantContext = {
      plan: this.plan,
      logger: this.deps.logger,
      firewall: this.deps.firewall,
      stateDir: this.deps.state.dir,
      grant: (door, address, via) => this.grant(door, address, via),
    };
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

  private door(name: string): Door | undefined {
    return this.plan?.doors.find((d) => d.name === name);
  }

  private onPacket(p: LoggedPacket): void {
    const parsed = parseLogPrefix(p.prefix);
    const door = parsed && this.door(parsed.door);
    if (!parsed || !door) {
      this.deps.logger.log('debug', 'unknown-log-prefix', { prefix: p.prefix });
      return;
    }
    if (parsed.event === 'open') this.opened(door, p.family, p.source);
    else void this.closedByKnock(door, p.source);
  }

  /** Called for every grant, whatever source made it (kernel knock, http, log watch). */
  opened(door: Door, family: Family, address: string, via = 'knock'): void {
    const until = this.now() + door.forMs;
    const isNew = this.book.open({ door: door.name, family, address, until });
    this.deps.logger.log('info', isNew ? 'open' : 'renew', {
      door: door.name,
      address,
      via,
      ports: door.open.map(formatPort),
      expires: new Date(until).toISOString(),
    });
    this.persist();
    if (isNew && door.run?.start) void this.runDoorCommand(door, 'start', address);
  }

  private async closedByKnock(door: Door, address: string): Promise<void> {
    const g = this.book.close(door.name, address);
    this.deps.logger.log('info', 'close', { door: door.name, address, reason: 'close sequence' });
    this.persist();
    if (g && door.run?.stop) await this.runDoorCommand(door, 'stop', address);
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
      const live = await this.deps.firewall.listGrants();
      for (const g of due) {
        const still = live.find((l) => l.door === g.door && l.address === g.address);
        if (still && still.expiresMs > 0) this.book.open({ ...g, until: this.now() + still.expiresMs });
        else {
          this.book.close(g.door, g.address);
          await this.ended(g, 'expired');
        }
      }
      this.persist();
    } finally {
      this.checking = false;
    }
  }

  private async ended(g: WatchedGrant, reason: string): Promise<void> {
    this.deps.logger.log('info', 'close', { door: g.door, address: g.address, reason });
    const door = this.door(g.door);
    if (door?.run?.stop) await this.runDoorCommand(door, 'stop', g.address);
  }

  private async runDoorCommand(door: Door, which: 'start' | 'stop', address: string): Promise<void> {
    const template = door.run?.[which];
    if (!template) return;
    const command = expandCommand(template, address);
    const r = await runShell(command);
    this.deps.logger.log(r.code === 0 ? 'info' : 'warn', `run-${which}`, {
      door: door.name,
      address,
      command,
      exit: r.timedOut ? 'timeout' : r.code,
      output: r.output || undefined,
    });
  }

  private persist(): void {
    try {
      this.deps.state.write(this.book.list());
    } catch (err) {
      this.deps.logger.log('warn', 'state-write-failed', { path: this.deps.state.path, reason: String(err) });
    }
  }
}
