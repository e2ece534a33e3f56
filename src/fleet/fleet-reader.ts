import type { Redis } from 'ioredis';
import type { Door, PortSpec } from '../core/door.js';
import {
  type FleetKind,
  type FleetMessage,
  parsePortText,
  receiveFleetMessage,
  SeenMessages,
} from '../core/fleet-message.js';
import { FleetRevocations } from '../core/fleet-revocations.js';
import { type FleetContext, syncClock } from './fleet-context.js';
import type { FleetDrops } from './fleet-drops.js';

/** A received grant or revocation, checked, for the kernel. */
export interface FleetChange {
  readonly kind: FleetKind;
  readonly door: Door;
  readonly address: string;
  /** Time left on this node's clock, at most the door's `for`. */
  readonly remainingMs: number;
  readonly origin: string;
  /** The ports granted (SPA grants some ports of a door). */
  readonly ports: readonly PortSpec[];
}

export interface FleetReaderDeps {
  /** This node's doors as loaded now (a reload changes them). */
  readonly doors: () => readonly Door[];
  /** Writes a batch of received changes into the kernel grant sets. */
  readonly apply: (changes: readonly FleetChange[]) => Promise<void>;
  readonly drops: FleetDrops;
  /** The grants this node holds now (every origin), `until` on the local clock: what catch-up reconciles. */
  readonly held?: () => readonly { readonly door: string; readonly address: string; readonly until: number }[];
  /** Another node revoked `door` for `address` (the publisher then never puts this node's grant of it back). */
  readonly onRevoked?: (door: string, address: string) => void;
}

const READ_BATCH = 1000;
/** nft shows whole seconds and clocks are converted: slack when comparing a held grant's end with a revocation's. */
const END_SLACK_MS = 2000;

type Checked = { readonly message: FleetMessage; readonly change: FleetChange };

/**
 * The other nodes' grants and revocations, from Redis: the event stream as it grows (this
 * node's position in it kept in `lastId`), each message checked (signature, cluster, door,
 * time, not revoked) and applied once (`seen` ids), in one kernel batch per read. Every
 * revocation seen is remembered until the grants it could end are over, so a grant issued
 * before it never applies again, however it comes back. After a start or an outage it catches
 * up first: it resumes the stream where it left it if Redis still has that entry; otherwise
 * (a start, or a gap: the stream moved on past this node) it reads every running grant and
 * every revocation from the keys and reconciles what this node holds with them.
 */
export class FleetReader {
  /** Grants and revocations from other nodes written into this node's kernel. */
  received = 0;
  revocationsReceived = 0;
  private readonly seen = new SeenMessages();
  private readonly revocations = new FleetRevocations();
  /** Grants applied here from other nodes, by door and address: their message id and end (fleet clock). */
  private readonly fromFleet = new Map<string, { readonly id: string; readonly expiresAt: number }>();
  private lastId: string | null = null;
  private stopped = false;

  constructor(
    private readonly ctx: FleetContext,
    private readonly deps: FleetReaderDeps,
  ) {}

  /** Reads the stream from `reader` until `stop()`; catches up first after every (re)connect. */
  async run(reader: Redis): Promise<void> {
    let needCatchUp = true;
    while (!this.stopped) {
      if (reader.status !== 'ready') {
        needCatchUp = true;
        await waitReady(reader, () => this.stopped);
        continue;
      }
      try {
        if (needCatchUp) {
          await this.catchUp(reader);
          needCatchUp = false;
        }
        const reply = (await reader.xread(
          'COUNT',
          READ_BATCH,
          'BLOCK',
          1000,
          'STREAMS',
          this.ctx.keys.events,
          this.lastId ?? '$',
        )) as [string, [string, string[]][]][] | null;
        const entries = reply?.[0]?.[1] ?? [];
        if (entries.length === 0) continue;
        this.lastId = entries[entries.length - 1][0];
        await this.receive(entries.map(([, fields]) => fieldValue(fields, 'm')));
      } catch (err) {
        if (this.stopped) break;
        this.ctx.log('debug', 'fleet-read-failed', { reason: String((err as Error).message) });
        needCatchUp = true;
        await sleep(200);
      }
    }
  }

  /** Ends `run` (at its next step: the caller disconnects the client to cut a blocking read short). */
  stop(): void {
    this.stopped = true;
  }

  /** Forgets the ids of messages whose grants have ended, and revocations that no longer matter. */
  prune(): void {
    const now = this.ctx.clock.now();
    this.seen.prune(now);
    this.revocations.prune(now);
    for (const [k, g] of this.fromFleet) if (g.expiresAt <= now) this.fromFleet.delete(k);
  }

  /**
   * After a start or an outage: resume the stream where this node left it if Redis still has
   * that entry; otherwise note the stream's end, read every revocation and running grant from
   * the keys, apply the grants, reconcile what this node holds, and read the stream from the
   * noted end (so nothing between the two is missed; repeats dedupe).
   */
  private async catchUp(reader: Redis): Promise<void> {
    const { keys } = this.ctx;
    await syncClock(this.ctx, reader);
    if (this.lastId) {
      const at = await reader.xrange(keys.events, this.lastId, this.lastId);
      if (at.length === 1) {
        this.ctx.log('info', 'fleet-resume', { from: this.lastId });
        return;
      }
      this.ctx.log('warn', 'fleet-stream-gap', {
        from: this.lastId,
        reason: "redis no longer has this node's place in the stream; catching up from the keys",
      });
    }
    const tail = await reader.xrevrange(keys.events, '+', '-', 'COUNT', 1);
    const startId = tail[0]?.[0] ?? '0-0';
    // revocations first: a grant they cover is refused when the grants are read
    const revoked = await this.readKeys(reader, keys.revokedPattern);
    const grants = await this.readKeys(reader, keys.grantPattern);
    const checked = this.check([...revoked, ...grants]);
    const live = new Set(checked.filter((c) => c.change.kind === 'grant').map((c) => keyOf(c.message)));
    const changes = this.select(checked.filter((c) => c.change.kind === 'grant'));
    // with the clock refused every message was dropped: that says nothing about what runs
    if (!this.ctx.clock.beyondBound) changes.push(...this.reconcile(live));
    const applied = await this.applyChanges(changes);
    this.lastId = startId;
    this.ctx.log('info', 'fleet-catch-up', { grants: grants.length, revocations: revoked.length, applied });
  }

  /** The values of every key matching `pattern`. */
  private async readKeys(reader: Redis, pattern: string): Promise<(string | null)[]> {
    const texts: (string | null)[] = [];
    let cursor = '0';
    do {
      const [next, found] = await reader.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (found.length) texts.push(...(await reader.mget(found)));
      cursor = next;
    } while (cursor !== '0' && !this.stopped);
    return texts;
  }

  /**
   * Catch-up's reconciling: a grant this node holds ends if a revocation it can't be newer than
   * is in Redis (it was revoked while this node was away or down), or if it came from another
   * node and Redis has no running grant for it any more. A running grant in Redis keeps it.
   */
  private reconcile(live: ReadonlySet<string>): FleetChange[] {
    const doors = this.deps.doors();
    const now = this.ctx.clock.now();
    const out: FleetChange[] = [];
    for (const h of this.deps.held?.() ?? []) {
      const door = doors.find((d) => d.name === h.door);
      const k = keyOf(h);
      if (!door || door.fleet === false || live.has(k)) continue;
      const r = this.revocations.get(h.door, h.address, now);
      const revokedHere = r !== null && h.until <= this.ctx.clock.toLocal(r.until) + END_SLACK_MS;
      const received = this.fromFleet.get(k);
      if (!revokedHere && !received) continue;
      const why = revokedHere ? 'revoked while this node was away' : 'no running grant in redis';
      this.ctx.log('info', 'fleet-reconcile', { door: h.door, address: h.address, reason: why });
      if (received) this.seen.forget(received.id);
      this.fromFleet.delete(k);
      out.push({ kind: 'revoke', door, address: h.address, remainingMs: 0, origin: r?.origin ?? 'fleet', ports: [] });
    }
    return out;
  }

  /** Checks each message and applies the good ones in one kernel batch. Returns how many applied. */
  private async receive(texts: readonly (string | null | undefined)[]): Promise<number> {
    return this.applyChanges(this.select(this.check(texts)));
  }

  /**
   * Verifies each message (signature, fields, door, time) and notes every revocation; returns
   * the other nodes' messages that are not refused, in order.
   */
  private check(texts: readonly (string | null | undefined)[]): Checked[] {
    const { settings } = this.ctx;
    const nowMs = this.ctx.clock.now();
    const doors = this.deps.doors();
    const out: Checked[] = [];
    const { clock } = this.ctx;
    const local = { nowMs: this.ctx.localNow(), maxOffsetMs: settings.maxClockOffsetMs };
    for (const text of texts) {
      if (text === null || text === undefined) continue;
      if (clock.beyondBound) {
        this.deps.drops.dropped('clock-offset', `redis TIME is ${clock.offset} ms from this node's clock`);
        continue;
      }
      const v = receiveFleetMessage(text, { key: this.ctx.key, cluster: settings.cluster, doors, nowMs, local });
      if (!v.ok) {
        this.deps.drops.dropped(v.reason, v.detail);
        continue;
      }
      const m = v.message;
      if (m.kind === 'revoke') this.revocations.record(m.door, m.address, m.issuedAt, m.expiresAt, m.origin);
      if (m.origin === settings.node) continue;
      if (m.kind === 'grant') {
        const r = this.revocations.covering(m.door, m.address, m.issuedAt, nowMs);
        if (r) {
          this.deps.drops.dropped('revoked', `issued ${r.revokedAt - m.issuedAt} ms before its revocation`, {
            door: m.door,
            address: m.address,
          });
          continue;
        }
      }
      out.push({
        message: m,
        change: {
          kind: m.kind,
          door: v.door,
          address: m.address,
          remainingMs: v.remainingMs,
          origin: m.origin,
          ports: m.ports.map(parsePortText),
        },
      });
    }
    return out;
  }

  /**
   * The changes to make, each message once (seen ids): of several for one door and address in
   * a batch only the last counts (a grant then its revocation: the revocation; a revocation then
   * a new grant: the grant), so applying grants before revocations can't reorder them.
   */
  private select(checked: readonly Checked[]): FleetChange[] {
    const nowMs = this.ctx.clock.now();
    const last = new Map<string, FleetChange>();
    for (const { message: m, change } of checked) {
      if (!this.seen.first(m.id, m.expiresAt, nowMs)) continue;
      const k = keyOf(m);
      last.delete(k);
      last.set(k, change);
      if (m.kind === 'grant') this.fromFleet.set(k, { id: m.id, expiresAt: m.expiresAt });
      else {
        this.fromFleet.delete(k);
        this.deps.onRevoked?.(m.door, m.address);
      }
    }
    return [...last.values()];
  }

  /** Writes `changes` in one kernel batch. Returns how many. */
  private async applyChanges(changes: readonly FleetChange[]): Promise<number> {
    if (changes.length === 0) return 0;
    try {
      await this.deps.apply(changes);
      for (const c of changes) {
        if (c.kind === 'grant') this.received++;
        else this.revocationsReceived++;
      }
    } catch (err) {
      this.ctx.log('error', 'fleet-apply-failed', { count: changes.length, reason: String((err as Error).message) });
    }
    return changes.length;
  }
}

const keyOf = (g: { readonly door: string; readonly address: string }) => `${g.door} ${g.address}`;

function fieldValue(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when `c` is ready, or after a short wait so the caller can notice a stop. */
function waitReady(c: Redis, stopped: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (stopped() || c.status === 'ready') return resolve();
    const done = () => {
      clearTimeout(timer);
      c.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, 500);
    c.once('ready', done);
  });
}
