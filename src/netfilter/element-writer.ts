import { constants } from 'node:os';
import { NLMSG_ERROR, replyErrno } from './nfnetlink.js';
import { type ElementChange, encodeBatch } from './set-elements.js';
import { type NetlinkSocket, openNetfilterSocket } from './socket.js';
import { SesameError } from '../core/sesame-error.js';

/** Writes set-element changes to the kernel; the daemon's fast path for grants. */
export interface ElementWriter {
  /** One kernel transaction per call (per 256 changes); rejects with NetlinkError. */
  write(changes: readonly ElementChange[]): Promise<void>;
  close(): void;
}

/**
 * A netlink request that failed: the socket could not be opened, the kernel refused a batch
 * (then nothing of it was applied) or did not answer. `detail` is worded as nft words it.
 */
export class NetlinkError extends SesameError {
  static override readonly code = 'E_NETLINK';
  override readonly name = 'NetlinkError';
  constructor(
    readonly operation: string,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`${operation} failed: ${detail}`, options);
  }
}

/** Changes per batch: keeps each message's element list far below netlink's 64 KiB attribute limit. */
const BATCH_CHANGES = 256;
const REPLY_TIMEOUT_MS = 2000;

interface PendingBatch {
  readonly waiting: Set<number>;
  /** Settles the batch: an error text, or nothing when every message was acknowledged. */
  readonly done: (problem?: string) => void;
}

/**
 * Set elements over a netfilter netlink socket that stays open: about 0.1 ms per grant,
 * where spawning `nft` costs milliseconds and blocks the event loop while it forks. The
 * kernel answers every message of a batch; the batch is one transaction, so any error
 * means nothing of it was applied.
 */
export class NetlinkElementWriter implements ElementWriter {
  private readonly pending = new Map<number, PendingBatch>();
  private seq = 1;

  private constructor(private readonly socket: NetlinkSocket) {
    socket.on('message', (msgs) => {
      for (const m of msgs) if (m.type === NLMSG_ERROR) this.answer(m.seq, replyErrno(m.data));
    });
  }

  /** Throws NetlinkError when the socket can't be opened (not root, no netfilter). */
  static open(): NetlinkElementWriter {
    try {
      return new NetlinkElementWriter(
        openNetfilterSocket({ ref: false, recvBufferSize: 1 << 20, sendBufferSize: 1 << 20 }),
      );
    } catch (cause) {
      throw new NetlinkError('netlink', `cannot open a netfilter netlink socket: ${String(cause)}`, { cause });
    }
  }

  async write(changes: readonly ElementChange[]): Promise<void> {
    for (let i = 0; i < changes.length; i += BATCH_CHANGES) await this.send(changes.slice(i, i + BATCH_CHANGES));
  }

  close(): void {
    for (const batch of new Set(this.pending.values())) batch.done('the netlink socket was closed');
    this.socket.close();
  }

  private send(changes: readonly ElementChange[]): Promise<void> {
    const { bytes, seqs } = encodeBatch(changes, this.seq);
    this.seq = (this.seq + seqs.length + 2) % 0x7fffffff || 1;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => batch.done('no answer from the kernel'), REPLY_TIMEOUT_MS);
      const batch: PendingBatch = {
        waiting: new Set(seqs),
        done: (problem) => {
          clearTimeout(timer);
          for (const s of seqs) this.pending.delete(s);
          if (this.pending.size === 0) this.socket.unref();
          if (problem === undefined) resolve();
          else reject(new NetlinkError(`netlink ${describe(changes)}`, problem));
        },
      };
      for (const s of seqs) this.pending.set(s, batch);
      // referenced while answers are due, so a short-lived process waits for them
      this.socket.ref();
      this.socket.socket.send(bytes, { port: 0 }, (err) => {
        if (err) batch.done(err.message);
      });
    });
  }

  private answer(seq: number, errno: number): void {
    const batch = this.pending.get(seq);
    if (!batch) return; // a late answer for a batch that already failed or timed out
    if (errno !== 0) return batch.done(errnoText(errno));
    batch.waiting.delete(seq);
    if (batch.waiting.size === 0) batch.done();
  }
}

/** `No such file or directory (ENOENT)`: the wording nft prints, so callers test one text. */
function errnoText(errno: number): string {
  const name = Object.entries(constants.errno).find(([, n]) => n === errno)?.[0] ?? `errno ${errno}`;
  const words: Record<string, string> = {
    ENOENT: 'No such file or directory',
    EPERM: 'Operation not permitted',
    EEXIST: 'File exists',
    ENOSPC: 'No space left on device',
    EINVAL: 'Invalid argument',
  };
  return `${words[name] ?? 'kernel refused the change'} (${name})`;
}

function describe(changes: readonly ElementChange[]): string {
  const sets = [...new Set(changes.map((c) => c.set))];
  return `${changes.length} element change(s) in ${sets.join(', ')}`;
}
