import type { GrantEvent, RevokeEvent, Unsubscribe } from '../sources/door-source.js';
import type { Logger } from './logger.js';

/**
 * Listeners for every grant and every end (fleet replication, metrics). A listener that
 * throws is logged and the others still run: an observer never breaks the control plane.
 */
export class GrantEvents {
  private readonly grants = new Set<(e: GrantEvent) => void>();
  private readonly revokes = new Set<(e: RevokeEvent) => void>();

  constructor(private readonly logger: Logger) {}

  onGrant(listener: (e: GrantEvent) => void): Unsubscribe {
    this.grants.add(listener);
    return () => this.grants.delete(listener);
  }

  onRevoke(listener: (e: RevokeEvent) => void): Unsubscribe {
    this.revokes.add(listener);
    return () => this.revokes.delete(listener);
  }

  granted(e: GrantEvent): void {
    for (const l of this.grants) this.call(l, e);
  }

  revoked(e: RevokeEvent): void {
    for (const l of this.revokes) this.call(l, e);
  }

  private call<E>(listener: (e: E) => void, e: E): void {
    try {
      listener(e);
    } catch (err) {
      this.logger.log('error', 'grant-listener-failed', { reason: String((err as Error)?.message ?? err) });
    }
  }
}
