import { SesameError } from '../core/sesame-error.js';

/** Thrown for a change queued after the queue was closed (the daemon is stopping). */
export class QueueClosedError extends SesameError {
  static override readonly code = 'E_STOPPING';
  override readonly name = 'QueueClosedError';
  constructor(what: string) {
    super(`${what}: sesame is stopping, the firewall is no longer changed`);
  }
}

/**
 * One queue for every firewall change (load, reload, one-time swap, grant, revoke, flush):
 * each runs alone, in the order it was asked for. Without it a reload and a one-time swap
 * could each read the grants and load a table, and the later one would drop what the
 * earlier one added, or a swap finishing after `--flush` would put the table back.
 */
export class FirewallQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private pending = 0;

  /** Runs `job` after every change queued before it; its result or error is the caller's. */
  run<T>(what: string, job: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new QueueClosedError(what));
    this.pending++;
    const result = this.tail.then(job);
    // the next job waits for this one whether it succeeded or not
    this.tail = result.then(
      () => this.pending--,
      () => this.pending--,
    );
    return result;
  }

  /** Changes queued or running. */
  get size(): number {
    return this.pending;
  }

  /**
   * Waits for every queued change, then refuses new ones except through `last`, which runs
   * after them all (stop: `--flush`). Later calls to `run` reject with QueueClosedError.
   */
  async close(last?: () => Promise<void>): Promise<void> {
    if (this.closed) return;
    const done = last ? this.run('stop', last) : this.run('stop', async () => {});
    this.closed = true;
    await done;
  }
}
