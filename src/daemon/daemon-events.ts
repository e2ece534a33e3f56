import type { Logger } from '../core/contracts.js';
import type { GrantEvent, RefusalEvent, RevokeEvent, Unsubscribe } from '../sources/door-source.js';

/** A door command that ran (`run.start` or `run.stop`), by result. */
export interface CommandRun {
  readonly door: string;
  readonly which: 'start' | 'stop';
  readonly address: string;
  /** Exit 0 within its time; false for a failure, a timeout or a shell that could not start. */
  readonly ok: boolean;
}

/** A config reload (SIGHUP): loaded, rejected (the config is bad) or failed (nft or a source refused). */
export interface ReloadEvent {
  readonly result: 'ok' | 'rejected' | 'failed';
}

/** What the NFLOG socket delivered: a packet, one that could not be decoded, or a kernel overrun. */
export interface NflogEvent {
  readonly what: 'packet' | 'invalid' | 'overrun';
  readonly reason?: string;
}

/** Every event the daemon tells its observers of (fleet replication, metrics), by kind. */
export interface DaemonEventMap {
  /** A grant made or renewed, whatever its source. */
  readonly granted: GrantEvent;
  /** A grant that ended (expired, closed, revoked, flushed). */
  readonly revoked: RevokeEvent;
  /** A knock a source refused (bad or replayed token, rate limit, bad SPA packet). */
  readonly refused: RefusalEvent;
  readonly ran: CommandRun;
  readonly reloaded: ReloadEvent;
  readonly nflog: NflogEvent;
}

export type DaemonEventKind = keyof DaemonEventMap;

/**
 * A small typed event bus: observers subscribe to a kind and get its typed event, never a
 * log line. A listener that throws is logged and the others still run: an observer never
 * breaks the control plane.
 */
export class DaemonEvents {
  private readonly listeners = new Map<DaemonEventKind, Set<(e: never) => void>>();

  constructor(private readonly logger: Logger) {}

  on<K extends DaemonEventKind>(kind: K, listener: (e: DaemonEventMap[K]) => void): Unsubscribe {
    let set = this.listeners.get(kind);
    if (!set) this.listeners.set(kind, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<K extends DaemonEventKind>(kind: K, e: DaemonEventMap[K]): void {
    const set = this.listeners.get(kind) as Set<(e: DaemonEventMap[K]) => void> | undefined;
    if (!set) return;
    for (const listener of set) {
      try {
        listener(e);
      } catch (err) {
        this.logger.log('error', 'event-listener-failed', { kind, reason: String((err as Error)?.message ?? err) });
      }
    }
  }
}
