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
  private readonly waiting: (() => void)[] = [];
  private readonly lastFor = new Map<string, Promise<void>>();
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

  /** Queues `cmd`; resolves when it has run (its result is logged, never thrown). */
  submit(cmd: DoorCommand): Promise<void> {
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

  private async exec(cmd: DoorCommand): Promise<void> {
    // a slot is free, or a finishing command hands its slot over (so the count never overshoots)
    if (this.running < this.limit) this.running++;
    else await new Promise<void>((r) => this.waiting.push(r));
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
      if (next) next();
      else this.running--;
      this.queued--;
      if (this.queued < this.warnBacklog / 2) this.warned = false;
      if (this.queued === 0) for (const resolve of this.idle.splice(0)) resolve();
    }
  }
}
