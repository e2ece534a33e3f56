import type { Redis } from 'ioredis';
import type { Door, PortSpec } from '../core/door.js';
import { type FleetKind, fleetMessage, maxLifetimeMs, newMessageId, signFleetMessage } from '../core/fleet-message.js';
import type { FleetContext } from './fleet-context.js';
/** Grants made while Redis is away, kept for when it is back; beyond this the oldest go. */
const OUTBOX_LIMIT = 100_000;

/** A grant or revocation this node made, until Redis has it. Times are local. */
interface Outgoing {
  readonly kind: FleetKind;
  readonly door: Door;
  readonly address: string;
  readonly issuedAt: number;
  readonly until: number;
  readonly id: string;
  readonly ports?: readonly PortSpec[];
}

/**
 * This node's grants and revocations, to Redis: a key per running grant (expiring with it), a
 * key per revocation (kept until every grant it could have ended is over: revocations are state,
 * not only events) and an entry on the bounded event stream, all signed. Nothing waits for
 * Redis: `granted` and `revoked` only queue (the outbox), and the outbox is sent in one pipeline
 * whenever Redis is there. The signed messages of this node's running grants and revocations
 * are kept, so a Redis that restarted empty learns them again (`republish`).
 */
export class FleetPublisher {
  /** Messages sent to Redis. */
  published = 0;
  /** Queued messages lost to the outbox limit during a long outage. */
  outboxDropped = 0;
  private outbox: Outgoing[] = [];
  private readonly own = new Map<string, { text: string; until: number }>();
  private readonly ownRevoked = new Map<string, { text: string; until: number }>();
  private flushing = false;
  private flushQueued = false;

  constructor(
    private readonly ctx: FleetContext,
    /** The command connection while connected, else undefined. */
    private readonly redis: () => Redis | undefined,
  ) {}

  /** Grants and revocations waiting for Redis. */
  get pending(): number {
    return this.outbox.length;
  }

  /**
   * This node granted `door` to `address` until `until` (local clock), for `ports` when only
   * some (SPA): tell the fleet. Never blocks.
   */
  granted(door: Door, address: string, until: number, ports?: readonly PortSpec[]): void {
    if (door.fleet === false) return;
    this.enqueue({ kind: 'grant', door, address, issuedAt: this.ctx.localNow(), until, id: newMessageId(), ports });
  }

  /** This node revoked `door` for `address` (close sequence, `sesame revoke`): tell the fleet. */
  revoked(door: Door, address: string): void {
    if (door.fleet === false) return;
    this.forget(door.name, address);
    const now = this.ctx.localNow();
    // a revocation lasts as long as the longest grant it can end: any grant issued before it
    this.enqueue({
      kind: 'revoke',
      door,
      address,
      issuedAt: now,
      until: now + maxLifetimeMs(door),
      id: newMessageId(),
    });
  }

  /** Another node revoked `door` for `address`: this node's grant of it is not to be put back. */
  forget(door: string, address: string): void {
    this.own.delete(ownKey(door, address));
  }

  /** Forgets the kept messages of grants and revocations that have ended. */
  prune(nowLocal: number): void {
    for (const kept of [this.own, this.ownRevoked]) for (const [k, g] of kept) if (g.until <= nowLocal) kept.delete(k);
  }

  /**
   * Re-sets the keys of this node's running grants and revocations, and puts its grants on the
   * stream again: a Redis that restarted empty learns them, and a node that dropped them while
   * the keys were missing (catch-up reconciles against the keys) gets them back.
   */
  async republish(): Promise<void> {
    const redis = this.redis();
    if (!redis) return;
    const now = this.ctx.localNow();
    const { keys, settings } = this.ctx;
    const pipe = redis.pipeline();
    let n = 0;
    for (const [kept, key] of [
      [this.own, keys.grant],
      [this.ownRevoked, keys.revoked],
    ] as const) {
      for (const [k, g] of kept) {
        const left = g.until - now;
        if (left <= 0) {
          kept.delete(k);
          continue;
        }
        const [door, address] = k.split(' ');
        pipe.set(key(door, address), g.text, 'PX', left);
        if (kept === this.own) pipe.xadd(keys.events, 'MAXLEN', '~', settings.streamLength, '*', 'm', g.text);
        n++;
      }
    }
    if (n > 0) await pipe.exec().catch(() => {});
  }

  /** Sends the outbox in one pipeline: a key per grant (PX = time left), every event on the stream. */
  async flush(): Promise<void> {
    const redis = this.redis();
    if (this.flushing || !redis || this.outbox.length === 0) return;
    this.flushing = true;
    const batch = this.outbox;
    this.outbox = [];
    const { clock, keys, settings } = this.ctx;
    try {
      const now = this.ctx.localNow();
      const pipe = redis.pipeline();
      let sent = 0;
      for (const o of batch) {
        const left = o.until - now;
        // a grant that ended during an outage is not worth telling; a revocation always is
        if (o.kind === 'grant' && left <= 0) continue;
        const m = fleetMessage(
          o.kind,
          o.door,
          o.address,
          settings.node,
          clock.fromLocal(o.issuedAt),
          clock.fromLocal(o.until),
          o.id,
          o.ports,
        );
        const text = signFleetMessage(this.ctx.key, settings.cluster, m);
        const key = keys.grant(o.door.name, o.address);
        const k = ownKey(o.door.name, o.address);
        if (o.kind === 'grant') {
          pipe.set(key, text, 'PX', left);
          this.own.set(k, { text, until: o.until });
        } else {
          // a grant of it sent earlier in this batch or before is not to be put back
          this.own.delete(k);
          pipe.del(key);
          pipe.set(keys.revoked(o.door.name, o.address), text, 'PX', Math.max(1, left));
          this.ownRevoked.set(k, { text, until: o.until });
        }
        pipe.xadd(keys.events, 'MAXLEN', '~', settings.streamLength, '*', 'm', text);
        sent++;
      }
      if (sent > 0) {
        const results = (await pipe.exec()) ?? [];
        const failed = results.find(([err]) => err);
        if (failed) throw failed[0];
        this.published += sent;
      }
    } catch (err) {
      // Redis went away mid-send: keep the batch (sending twice is harmless, ids dedupe) for the next connect
      this.outbox = [...batch, ...this.outbox].slice(-OUTBOX_LIMIT);
      this.ctx.log('debug', 'fleet-send-failed', {
        reason: String((err as Error).message),
        pending: this.outbox.length,
      });
    } finally {
      this.flushing = false;
    }
    if (this.outbox.length > 0 && this.redis()) this.scheduleFlush();
  }

  private enqueue(o: Outgoing): void {
    if (this.outbox.length >= OUTBOX_LIMIT) {
      this.outbox.shift();
      this.outboxDropped++;
    }
    this.outbox.push(o);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (!this.redis()) return;
    // idle: send now (a lone grant waits for nothing); while a send is out, what comes meanwhile
    // goes in the next pipeline, so a burst of knocks costs a round trip per batch, not per grant
    if (!this.flushing && !this.flushQueued) {
      void this.flush();
      return;
    }
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      void this.flush();
    });
  }
}

const ownKey = (door: string, address: string) => `${door} ${address}`;
