import type { Redis } from 'ioredis';
import type { Door, PortSpec } from '../core/door.js';
import {
  type FleetKind,
  fleetMessage,
  newMessageId,
  parsePortText,
  receiveFleetMessage,
  SeenMessages,
  signFleetMessage,
} from '../core/fleet-message.js';
import { receiveHeartbeat, signHeartbeat } from '../core/fleet-heartbeat.js';
import type { FleetSettings } from '../core/fleet-settings.js';
import { FleetClock } from './fleet-clock.js';
import type { FleetStatus, NodeSeen } from './fleet-status.js';
import { createRedis } from './redis-connection.js';
import { type FleetKeys, fleetKeys } from './redis-keys.js';
import { SharedReplay } from './shared-replay.js';

export type FleetLog = (
  level: 'debug' | 'info' | 'warn' | 'error',
  event: string,
  fields?: Record<string, unknown>,
) => void;

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

export interface FleetDeps {
  readonly settings: FleetSettings;
  /** The fleet key (the same on every node). */
  readonly key: Uint8Array;
  /** This node's doors as loaded now (a reload changes them). */
  readonly doors: () => readonly Door[];
  /** Writes a batch of received changes into the kernel grant sets. */
  readonly apply: (changes: readonly FleetChange[]) => Promise<void>;
  readonly log: FleetLog;
  /** Called after every heartbeat, for `sesame status`. */
  readonly onStatus?: (status: FleetStatus) => void;
  readonly localNow?: () => number;
  /** For tests: how to make a client. */
  readonly redis?: (role: string) => Redis;
  /** Heartbeat period; a node counts as gone after 5 of them. */
  readonly heartbeatMs?: number;
}

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

/** The stream keeps this many events; a node away longer than that catches up from the keys. */
export const STREAM_LENGTH = 10_000;
/** Grants made while Redis is away, kept for when it is back; beyond this the oldest go. */
const OUTBOX_LIMIT = 100_000;
const READ_BATCH = 1000;
const DROP_LOG_PER_WINDOW = 20;
/** A fleet has a handful of nodes; more heartbeat keys than this are not read (someone filled Redis). */
const MAX_NODES = 1000;

/**
 * One node of a fleet. Publishes this node's grants and revocations to Redis (a key per
 * running grant, expiring with it, plus a bounded event stream), reads the others' from the
 * stream as they happen, and catches up from the keys after a start or a long outage. Nothing
 * local waits for Redis: publishing only queues, and the queue is sent whenever Redis is there.
 */
export class FleetNode {
  readonly keys: FleetKeys;
  readonly clock: FleetClock;
  readonly replay: SharedReplay;
  private cmd!: Redis;
  private reader!: Redis;
  /**
   * Heartbeats and the node list: their SCAN walks the whole keyspace (a key per running
   * grant), so on `cmd` it would hold up the grants being published behind it.
   */
  private aux!: Redis;
  private stopped = false;
  private outbox: Outgoing[] = [];
  /** Signed messages of this node's running grants, re-sent after Redis comes back (it may have lost them). */
  private readonly own = new Map<string, { text: string; until: number }>();
  private readonly seen = new SeenMessages();
  private lastId: string | null = null;
  private flushing = false;
  private flushQueued = false;
  private connected = false;
  private since: number | null = null;
  private heartbeat?: NodeJS.Timeout;
  private readLoopDone?: Promise<void>;
  private readonly nodes = new Map<string, NodeSeen>();
  /** The last refused value of each heartbeat key: one forged value is logged once, not every beat. */
  private readonly badHeartbeats = new Map<string, string>();
  private readonly counts = { published: 0, received: 0, revocationsReceived: 0, dropped: 0, outboxDropped: 0 };
  private dropWindow = { start: 0, logged: 0, suppressed: 0 };
  private readonly localNow: () => number;
  private readonly heartbeatMs: number;

  constructor(private readonly deps: FleetDeps) {
    this.keys = fleetKeys(deps.settings.cluster);
    this.localNow = deps.localNow ?? Date.now;
    this.clock = new FleetClock(this.localNow);
    this.heartbeatMs = deps.heartbeatMs ?? 2000;
    this.replay = new SharedReplay({
      redis: () => (this.connected ? this.cmd : undefined),
      keys: this.keys,
      mode: deps.settings.replay,
      log: deps.log,
    });
  }

  get node(): string {
    return this.deps.settings.node;
  }

  /** Starts connecting; returns at once (Redis may be down, the node works alone meanwhile). */
  start(): void {
    const make = this.deps.redis ?? ((role: string) => createRedis(this.deps.settings, `sesame-${this.node}-${role}`));
    this.cmd = make('cmd');
    this.reader = make('reader');
    this.aux = make('aux');
    for (const c of [this.cmd, this.reader, this.aux])
      c.on('error', (err) => this.deps.log('debug', 'fleet-redis-error', { reason: String(err?.message ?? err) }));
    this.cmd.on('ready', () => void this.onReady());
    this.cmd.on('close', () => this.onDown());
    this.cmd.connect().catch(() => {});
    this.reader.connect().catch(() => {});
    this.aux.connect().catch(() => {});
    this.readLoopDone = this.readLoop();
    this.heartbeat = setInterval(() => void this.beat(), this.heartbeatMs);
    this.deps.log('info', 'fleet-start', {
      cluster: this.deps.settings.cluster,
      node: this.node,
      redis: `${this.deps.settings.redis.host}:${this.deps.settings.redis.port}`,
    });
  }

  /** Sends what is queued (briefly, if Redis is there) and disconnects. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    if (this.connected) await Promise.race([this.flush(), sleep(1000)]);
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.cmd.disconnect();
    this.reader.disconnect();
    this.aux.disconnect();
    await this.readLoopDone;
  }

  /**
   * This node granted `door` to `address` until `until` (local clock), for `ports` when only
   * some (SPA): tell the fleet. Never blocks.
   */
  granted(door: Door, address: string, until: number, ports?: readonly PortSpec[]): void {
    if (door.fleet === false) return;
    this.enqueue({ kind: 'grant', door, address, issuedAt: this.localNow(), until, id: newMessageId(), ports });
  }

  /** This node revoked `door` for `address` (close sequence, `sesame revoke`): tell the fleet. */
  revoked(door: Door, address: string): void {
    if (door.fleet === false) return;
    this.own.delete(ownKey(door.name, address));
    const now = this.localNow();
    this.enqueue({ kind: 'revoke', door, address, issuedAt: now, until: now + door.forMs, id: newMessageId() });
  }

  status(): FleetStatus {
    const now = this.localNow();
    return {
      cluster: this.deps.settings.cluster,
      node: this.node,
      redis: `${this.deps.settings.redis.host}:${this.deps.settings.redis.port}`,
      connected: this.connected,
      since: this.since === null ? null : new Date(this.since).toISOString(),
      clockOffsetMs: this.clock.offset,
      nodes: [...this.nodes.values()].sort((a, b) => a.name.localeCompare(b.name)),
      grantsPublished: this.counts.published,
      grantsReceived: this.counts.received,
      revocationsReceived: this.counts.revocationsReceived,
      dropped: this.counts.dropped,
      pending: this.outbox.length,
      replayFallbacks: this.replay.fallbacks,
      updated: new Date(now).toISOString(),
    };
  }

  private enqueue(o: Outgoing): void {
    if (this.outbox.length >= OUTBOX_LIMIT) {
      this.outbox.shift();
      this.counts.outboxDropped++;
    }
    this.outbox.push(o);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (!this.connected) return;
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

  /** Sends the outbox in one pipeline: a key per grant (PX = time left), every event on the stream. */
  private async flush(): Promise<void> {
    if (this.flushing || !this.connected || this.outbox.length === 0) return;
    this.flushing = true;
    const batch = this.outbox;
    this.outbox = [];
    try {
      const now = this.localNow();
      const pipe = this.cmd.pipeline();
      let sent = 0;
      for (const o of batch) {
        const left = o.until - now;
        // a grant that ended during an outage is not worth telling; a revocation always is
        if (o.kind === 'grant' && left <= 0) continue;
        const m = fleetMessage(
          o.kind,
          o.door,
          o.address,
          this.node,
          this.clock.fromLocal(o.issuedAt),
          this.clock.fromLocal(o.until),
          o.id,
          o.ports,
        );
        const text = signFleetMessage(this.deps.key, this.deps.settings.cluster, m);
        const key = this.keys.grant(o.door.name, o.address);
        if (o.kind === 'grant') {
          pipe.set(key, text, 'PX', left);
          this.own.set(ownKey(o.door.name, o.address), { text, until: o.until });
        } else pipe.del(key);
        pipe.xadd(this.keys.events, 'MAXLEN', '~', STREAM_LENGTH, '*', 'm', text);
        sent++;
      }
      if (sent > 0) {
        const results = (await pipe.exec()) ?? [];
        const failed = results.find(([err]) => err);
        if (failed) throw failed[0];
        this.counts.published += sent;
      }
    } catch (err) {
      // Redis went away mid-send: keep the batch (sending twice is harmless, ids dedupe) for the next connect
      this.outbox = [...batch, ...this.outbox].slice(-OUTBOX_LIMIT);
      this.deps.log('debug', 'fleet-send-failed', {
        reason: String((err as Error).message),
        pending: this.outbox.length,
      });
    } finally {
      this.flushing = false;
    }
    if (this.outbox.length > 0 && this.connected) this.scheduleFlush();
  }

  private async onReady(): Promise<void> {
    if (this.stopped) return;
    await this.syncClock(this.cmd).catch(() => {});
    this.connected = true;
    this.since = this.localNow();
    this.deps.log('info', 'fleet-connected', {
      redis: `${this.deps.settings.redis.host}:${this.deps.settings.redis.port}`,
      clock_offset_ms: this.clock.offset,
      pending: this.outbox.length,
    });
    await this.republishOwn();
    await this.flush();
    void this.beat();
  }

  private onDown(): void {
    if (!this.connected) return;
    this.connected = false;
    this.since = this.localNow();
    if (!this.stopped)
      this.deps.log('warn', 'fleet-disconnected', {
        reason: 'connection to redis lost; knocks keep working on this node, grants are queued',
      });
  }

  /** Re-sets the keys of this node's running grants: a Redis that restarted empty learns them again. */
  private async republishOwn(): Promise<void> {
    const now = this.localNow();
    const pipe = this.cmd.pipeline();
    let n = 0;
    for (const [k, g] of this.own) {
      const left = g.until - now;
      if (left <= 0) {
        this.own.delete(k);
        continue;
      }
      const [door, address] = k.split(' ');
      pipe.set(this.keys.grant(door, address), g.text, 'PX', left);
      n++;
    }
    if (n > 0) await pipe.exec().catch(() => {});
  }

  private async syncClock(c: Redis): Promise<void> {
    const sent = this.localNow();
    const reply = await c.time();
    this.clock.record(reply.map(String), sent, this.localNow());
  }

  /** Heartbeat: refresh the clock, announce this node, read the others'. */
  private async beat(): Promise<void> {
    const now = this.localNow();
    this.seen.prune(this.clock.now());
    for (const [k, g] of this.own) if (g.until <= now) this.own.delete(k);
    if (this.connected && this.aux.status === 'ready') {
      try {
        await this.syncClock(this.aux);
        const me = signHeartbeat(this.deps.key, this.deps.settings.cluster, {
          name: this.node,
          at: this.clock.now(),
          published: this.counts.published,
          received: this.counts.received,
        });
        await this.aux.set(this.keys.node(this.node), me, 'PX', this.heartbeatMs * 5);
        await this.readNodes();
      } catch (err) {
        this.deps.log('debug', 'fleet-heartbeat-failed', { reason: String((err as Error).message) });
      }
    }
    this.deps.onStatus?.(this.status());
  }

  /** Reads every node's heartbeat; only signed ones, under their own name, count as nodes seen. */
  private async readNodes(): Promise<void> {
    const keys: string[] = [];
    let cursor = '0';
    let rounds = 0;
    do {
      const [next, found] = await this.aux.scan(cursor, 'MATCH', this.keys.nodePattern, 'COUNT', 1000);
      keys.push(...found);
      cursor = next;
    } while (cursor !== '0' && ++rounds < 100 && keys.length < MAX_NODES);
    keys.splice(MAX_NODES);
    const values = keys.length ? await this.aux.mget(keys) : [];
    const nowMs = this.clock.now();
    keys.forEach((key, i) => {
      const text = values[i];
      if (text === null || text === undefined) return;
      const keyName = key.slice(this.keys.nodePrefix.length);
      const v = receiveHeartbeat(text, { key: this.deps.key, cluster: this.deps.settings.cluster, keyName, nowMs });
      if (!v.ok) {
        if (this.badHeartbeats.get(key) === text) return;
        if (this.badHeartbeats.size >= MAX_NODES) this.badHeartbeats.clear();
        this.badHeartbeats.set(key, text);
        this.dropped(v.reason, v.detail, { what: 'heartbeat', node: keyName.slice(0, 64) });
        return;
      }
      this.badHeartbeats.delete(key);
      const h = v.heartbeat;
      this.nodes.set(h.name, {
        name: h.name,
        lastHeartbeat: new Date(this.clock.toLocal(h.at)).toISOString(),
        published: h.published,
        received: h.received,
      });
    });
  }

  /** Reads the stream for as long as the node runs; catches up first after every (re)connect. */
  private async readLoop(): Promise<void> {
    let needCatchUp = true;
    while (!this.stopped) {
      if (this.reader.status !== 'ready') {
        needCatchUp = true;
        await waitReady(this.reader, () => this.stopped);
        continue;
      }
      try {
        if (needCatchUp) {
          await this.catchUp();
          needCatchUp = false;
        }
        const reply = (await this.reader.xread(
          'COUNT',
          READ_BATCH,
          'BLOCK',
          1000,
          'STREAMS',
          this.keys.events,
          this.lastId ?? '$',
        )) as [string, [string, string[]][]][] | null;
        const entries = reply?.[0]?.[1] ?? [];
        if (entries.length === 0) continue;
        this.lastId = entries[entries.length - 1][0];
        await this.receive(entries.map(([, fields]) => fieldValue(fields, 'm')));
      } catch (err) {
        if (this.stopped) break;
        this.deps.log('debug', 'fleet-read-failed', { reason: String((err as Error).message) });
        needCatchUp = true;
        await sleep(200);
      }
    }
  }

  /**
   * After a start or an outage: resume the stream where this node left it if Redis still has
   * that entry; otherwise note the stream's end, apply every running grant from the keys, and
   * read the stream from the noted end (so nothing between the two is missed; repeats dedupe).
   */
  private async catchUp(): Promise<void> {
    await this.syncClock(this.reader);
    if (this.lastId) {
      const at = await this.reader.xrange(this.keys.events, this.lastId, this.lastId);
      if (at.length === 1) {
        this.deps.log('info', 'fleet-resume', { from: this.lastId });
        return;
      }
    }
    const tail = await this.reader.xrevrange(this.keys.events, '+', '-', 'COUNT', 1);
    const startId = tail[0]?.[0] ?? '0-0';
    const texts: (string | null)[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.reader.scan(cursor, 'MATCH', this.keys.grantPattern, 'COUNT', 1000);
      if (keys.length) texts.push(...(await this.reader.mget(keys)));
      cursor = next;
    } while (cursor !== '0' && !this.stopped);
    const applied = await this.receive(texts);
    this.lastId = startId;
    this.deps.log('info', 'fleet-catch-up', { grants: texts.length, applied });
  }

  /** Checks each message and applies the good ones in one kernel batch. Returns how many applied. */
  private async receive(texts: readonly (string | null | undefined)[]): Promise<number> {
    const nowMs = this.clock.now();
    const doors = this.deps.doors();
    const changes: FleetChange[] = [];
    for (const text of texts) {
      if (text === null || text === undefined) continue;
      const v = receiveFleetMessage(text, { key: this.deps.key, cluster: this.deps.settings.cluster, doors, nowMs });
      if (!v.ok) {
        this.dropped(v.reason, v.detail);
        continue;
      }
      const m = v.message;
      if (m.origin === this.node) continue;
      if (!this.seen.first(m.id, m.expiresAt, nowMs)) continue;
      changes.push({
        kind: m.kind,
        door: v.door,
        address: m.address,
        remainingMs: v.remainingMs,
        origin: m.origin,
        ports: m.ports.map(parsePortText),
      });
    }
    if (changes.length === 0) return 0;
    try {
      await this.deps.apply(changes);
      for (const c of changes) {
        if (c.kind === 'grant') this.counts.received++;
        else this.counts.revocationsReceived++;
      }
    } catch (err) {
      this.deps.log('error', 'fleet-apply-failed', { count: changes.length, reason: String((err as Error).message) });
    }
    return changes.length;
  }

  /** Logs a dropped message; a flood of them is summarised instead of flooding the log. */
  private dropped(reason: string, detail?: string, about: Record<string, string> = {}): void {
    this.counts.dropped++;
    const now = this.localNow();
    if (now - this.dropWindow.start > 10_000) {
      if (this.dropWindow.suppressed > 0)
        this.deps.log('warn', 'fleet-dropped', { reason: 'more of the above', suppressed: this.dropWindow.suppressed });
      this.dropWindow = { start: now, logged: 0, suppressed: 0 };
    }
    if (this.dropWindow.logged++ < DROP_LOG_PER_WINDOW)
      this.deps.log('warn', 'fleet-dropped', { reason, detail, ...about });
    else this.dropWindow.suppressed++;
  }
}

const ownKey = (door: string, address: string) => `${door} ${address}`;

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
