import type { Door } from '../core/door.js';
import { parseLogPrefix } from '../core/kernel-names.js';
import type { LoggedPacket } from '../netfilter/nflog-codec.js';
import type { PacketSource } from '../netfilter/nflog.js';
import type { DaemonEvents, NflogEvent } from './daemon-events.js';
import type { GrantLifecycle } from './grant-lifecycle.js';
import type { OneTimeSwap } from './one-time-swap.js';
import type { Clock, Logger } from '../core/contracts.js';

export interface KernelKnocksDeps {
  readonly events: DaemonEvents;
  readonly grants: GrantLifecycle;
  readonly oneTime: OneTimeSwap;
  readonly logger: Logger;
  readonly now: Clock;
  /** The loaded config's door `name` (a log prefix names a door). */
  readonly door: (name: string) => Door | undefined;
}

const PACKET: NflogEvent = Object.freeze({ what: 'packet' });
const OVERRUN: NflogEvent = Object.freeze({ what: 'overrun' });

/**
 * What the kernel logs to the daemon's NFLOG group: a sequence completed (the kernel already
 * granted it; here it becomes a log line, events and commands, and a used one-time sequence
 * is swapped), a close sequence, an undecodable message, or an overrun.
 */
export class KernelKnocks {
  private overruns = 0;
  private overrunLogged = 0;

  constructor(private readonly deps: KernelKnocksDeps) {}

  /** Listens to `packets` (the daemon's NFLOG socket). */
  attach(packets: PacketSource): void {
    const { events, logger } = this.deps;
    packets.on('packet', (p) => {
      events.emit('nflog', PACKET);
      this.onPacket(p);
    });
    packets.on('invalid', (reason) => {
      events.emit('nflog', { what: 'invalid', reason });
      logger.log('debug', 'invalid-packet', { reason });
    });
    packets.on('overrun', () => {
      events.emit('nflog', OVERRUN);
      this.onOverrun();
    });
  }

  private onPacket(p: LoggedPacket): void {
    const parsed = parseLogPrefix(p.prefix);
    const door = parsed && this.deps.door(parsed.door);
    if (!parsed || !door) {
      this.deps.logger.log('debug', 'unknown-log-prefix', { prefix: p.prefix });
      return;
    }
    if (parsed.event === 'open') {
      this.deps.grants.opened(door, p.family, p.source);
      if (door.kind === 'one-time') this.deps.oneTime.used(door.name, parsed.line);
    } else this.deps.grants.closed(door.name, p.source, 'close sequence');
  }

  /**
   * The kernel dropped NFLOG messages (the socket's buffer overflowed, ENOBUFS): those
   * knocks still opened their doors, but their log lines and commands are lost. Said at
   * most once a second, with the count.
   */
  private onOverrun(): void {
    this.overruns++;
    if (this.deps.now() - this.overrunLogged < 1000) return;
    this.overrunLogged = this.deps.now();
    this.deps.logger.log('warn', 'nflog-overrun', {
      overruns: this.overruns,
      note: 'the kernel dropped NFLOG events (knocks still open doors; their log lines and commands are lost)',
    });
    this.overruns = 0;
  }
}
