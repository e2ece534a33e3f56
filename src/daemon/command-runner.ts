import type { Logger } from '../core/contracts.js';
import type { CommandRun } from './daemon-events.js';
import { type CommandResult, runShell } from './run-command.js';

export interface DoorCommand {
  readonly door: string;
  readonly which: 'start' | 'stop';
  readonly address: string;
  /** `%IP%` already expanded. */
  readonly command: string;
}

export interface RunnerOptions {
  /** Commands running at once, at most. */
  readonly limit?: number;
  /** Backlog at which a warning is logged (once per crossing). */
  readonly warnBacklog?: number;
  readonly run?: (command: string) => Promise<CommandResult>;
  /** Told of every command that ran, by result (metrics). */
  readonly ran?: (r: CommandRun) => void;
}

/**
 * Runs door commands (`run.start`, `run.stop`) with /bin/sh, at most `limit` at once: a
 * knock flood queues its commands instead of forking a shell per event. Commands for the
 * same door and address run in the order they were asked for (a stop never overtakes its
 * start); different addresses run in parallel up to the limit.
 */
export class CommandRunner {
  private readonly limit: number;
  private readonly warnBacklog: number;
  private readonly run: (command: string) => Promise<CommandResult>;
  private readonly ran: (r: CommandRun) => void;
  /** Commands waiting for a slot; called with true to run, false when the runner closed. */
  private readonly waiting: ((run: boolean) => void)[] = [];
  private closed = false;
  /** Commands dropped since close(), by door. */
  private dropped = new Map<string, number>();
  private readonly lastFor = new Map<string, Promise<boolean>>();
  private running = 0;
  private queued = 0;
  private warned = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly logger: Logger,
    opts: RunnerOptions = {},
  ) {
    this.limit = opts.limit ?? 8;
    this.warnBacklog = opts.warnBacklog ?? 1000;
    this.run = opts.run ?? ((c) => runShell(c));
    this.ran = opts.ran ?? (() => {});
  }

  /** Commands queued or running. */
  get backlog(): number {
    return this.queued;
  }

  /** Commands running now. */
  get active(): number {
    return this.running;
  }

  /**
   * Queues `cmd`; resolves true when it has run (its result is logged, never thrown), false
   * when it was dropped by `close()` before it started.
   */
  submit(cmd: DoorCommand): Promise<boolean> {
    const key = `${cmd.door} ${cmd.address}`;
    this.queued++;
    if (this.queued >= this.warnBacklog && !this.warned) {
      this.warned = true;
      this.logger.log('warn', 'commands-backlog', { queued: this.queued, running: this.limit });
    }
    const done = (this.lastFor.get(key) ?? Promise.resolve()).then(() => this.exec(cmd));
    this.lastFor.set(key, done);
    void done.then(() => {
      if (this.lastFor.get(key) === done) this.lastFor.delete(key);
    });
    return done;
  }

  /** Resolves when nothing is queued or running. */
  drain(): Promise<void> {
    if (this.queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /**
   * Stops starting commands (daemon stop): the running ones finish, every queued one is
   * dropped (its `submit` resolves false). Resolves when the running ones are done, with the
   * count dropped per door. A stop backlog of thousands would otherwise keep the daemon past
   * systemd's stop timeout, which then kills it in the middle of a command.
   */
  async close(): Promise<Map<string, number>> {
    this.closed = true;
    for (const wake of this.waiting.splice(0)) wake(false);
    await this.drain();
    return this.dropped;
  }

  private async exec(cmd: DoorCommand): Promise<boolean> {
    // a slot is free, or a finishing command hands its slot over (so the count never overshoots)
    let run = !this.closed;
    if (run && this.running < this.limit) this.running++;
    else if (run) run = await new Promise<boolean>((r) => this.waiting.push(r));
    if (!run) {
      this.dropped.set(cmd.door, (this.dropped.get(cmd.door) ?? 0) + 1);
      this.finished();
      return false;
    }
    let ok = false;
    try {
      const r = await this.run(cmd.command);
      ok = r.code === 0 && !r.timedOut;
      this.logger.log(r.code === 0 ? 'info' : 'warn', `run-${cmd.which}`, {
        door: cmd.door,
        address: cmd.address,
        command: cmd.command,
        exit: r.timedOut ? 'timeout' : r.code,
        output: r.output || undefined,
      });
    } catch (err) {
      this.logger.log('error', `run-${cmd.which}`, { door: cmd.door, address: cmd.address, reason: String(err) });
    } finally {
      this.ran({ door: cmd.door, which: cmd.which, address: cmd.address, ok });
      const next = this.waiting.shift();
      if (next) next(true);
      else this.running--;
      this.finished();
    }
    return true;
  }

  private finished(): void {
    this.queued--;
    if (this.queued < this.warnBacklog / 2) this.warned = false;
    if (this.queued === 0) for (const resolve of this.idle.splice(0)) resolve();
  }
}
