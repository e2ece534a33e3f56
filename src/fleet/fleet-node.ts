import type { Redis } from 'ioredis';
import type { Door, PortSpec } from '../core/door.js';
import type { FleetSettings } from '../core/fleet-settings.js';
import { FleetClock } from './fleet-clock.js';
import type { Clock, LogFn } from '../core/contracts.js';
import { type FleetContext, syncClock } from './fleet-context.js';
import { FleetDrops } from './fleet-drops.js';
import { FleetPresence } from './fleet-presence.js';
import { FleetPublisher } from './fleet-publisher.js';
import { type FleetChange, FleetReader } from './fleet-reader.js';
import type { FleetStatus } from './fleet-status.js';
import { createRedis } from './redis-connection.js';
import { type FleetKeys, fleetKeys } from './redis-keys.js';
import { SharedReplay } from './shared-replay.js';

export interface FleetDeps {
  readonly settings: FleetSettings;
  /** The fleet key (the same on every node). */
  readonly key: Uint8Array;
  /** This node's doors as loaded now (a reload changes them). */
  readonly doors: () => readonly Door[];
  /** Writes a batch of received changes into the kernel grant sets. */
  readonly apply: (changes: readonly FleetChange[]) => Promise<void>;
  /** The grants this node holds now, `until` on the local clock (catch-up reconciles them with Redis). */
  readonly held?: () => readonly { readonly door: string; readonly address: string; readonly until: number }[];
  readonly log: LogFn;
  /** Called after every heartbeat, for `sesame status`. */
  readonly onStatus?: (status: FleetStatus) => void;
  readonly localNow?: Clock;
  /** For tests: how to make a client. */
  readonly redis?: (role: string) => Redis;
  /** Heartbeat period; a node counts as gone after 5 of them. */
  readonly heartbeatMs?: number;
}

/**
 * One node of a fleet, composed of its parts on three Redis connections: the publisher sends
 * this node's grants and revocations (`cmd`), the reader applies the others' from the stream
 * and catches up after a start or an outage (`reader`, which blocks), presence beats and reads
 * the node list (`aux`). Nothing local waits for Redis: publishing only queues, and the queue
 * is sent whenever Redis is there.
 */
export class FleetNode {
  readonly keys: FleetKeys;
  readonly clock: FleetClock;
  readonly replay: SharedReplay;
  private readonly ctx: FleetContext;
  private readonly drops: FleetDrops;
  private readonly publisher: FleetPublisher;
  private readonly reader: FleetReader;
  private readonly presence: FleetPresence;
  private cmd!: Redis;
  private readerClient!: Redis;
  private aux!: Redis;
  private stopped = false;
  private connected = false;
  private since: number | null = null;
  private heartbeat?: NodeJS.Timeout;
  private readLoopDone?: Promise<void>;
  private readonly localNow: Clock;
  private readonly heartbeatMs: number;

  constructor(private readonly deps: FleetDeps) {
    this.keys = fleetKeys(deps.settings.cluster);
    this.localNow = deps.localNow ?? Date.now;
    this.clock = new FleetClock(this.localNow, deps.settings.maxClockOffsetMs);
    this.heartbeatMs = deps.heartbeatMs ?? 2000;
    this.ctx = {
      settings: deps.settings,
      key: deps.key,
      keys: this.keys,
      clock: this.clock,
      localNow: this.localNow,
      log: deps.log,
    };
    const cmd = () => (this.connected ? this.cmd : undefined);
    this.drops = new FleetDrops(deps.log, this.localNow);
    this.publisher = new FleetPublisher(this.ctx, cmd);
    this.reader = new FleetReader(this.ctx, {
      doors: deps.doors,
      apply: deps.apply,
      drops: this.drops,
      ...(deps.held ? { held: deps.held } : {}),
      onRevoked: (door, address) => this.publisher.forget(door, address),
    });
    this.presence = new FleetPresence(this.ctx, this.drops, this.heartbeatMs);
    this.replay = new SharedReplay({ redis: cmd, keys: this.keys, mode: deps.settings.replay, log: deps.log });
  }

  get node(): string {
    return this.deps.settings.node;
  }

  /** Starts connecting; returns at once (Redis may be down, the node works alone meanwhile). */
  start(): void {
    const make = this.deps.redis ?? ((role: string) => createRedis(this.deps.settings, `sesame-${this.node}-${role}`));
    this.cmd = make('cmd');
    this.readerClient = make('reader');
    this.aux = make('aux');
    for (const c of [this.cmd, this.readerClient, this.aux])
      c.on('error', (err) => this.deps.log('debug', 'fleet-redis-error', { reason: String(err?.message ?? err) }));
    this.cmd.on('ready', () => void this.onReady());
    this.cmd.on('close', () => this.onDown());
    this.cmd.connect().catch(() => {});
    this.readerClient.connect().catch(() => {});
    this.aux.connect().catch(() => {});
    this.readLoopDone = this.reader.run(this.readerClient);
    this.heartbeat = setInterval(() => void this.beat(), this.heartbeatMs);
    this.deps.log('info', 'fleet-start', { cluster: this.deps.settings.cluster, node: this.node, redis: this.redis });
  }

  /** Sends what is queued (briefly, if Redis is there) and disconnects. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    if (!this.readLoopDone) {
      this.stopped = true; // never started: nothing to send or close
      return;
    }
    if (this.connected) await Promise.race([this.publisher.flush(), sleep(1000)]);
    this.stopped = true;
    this.reader.stop();
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.cmd.disconnect();
    this.readerClient.disconnect();
    this.aux.disconnect();
    await this.readLoopDone;
  }

  /**
   * This node granted `door` to `address` until `until` (local clock), for `ports` when only
   * some (SPA): tell the fleet. Never blocks.
   */
  granted(door: Door, address: string, until: number, ports?: readonly PortSpec[]): void {
    this.publisher.granted(door, address, until, ports);
  }

  /** This node revoked `door` for `address` (close sequence, `sesame revoke`): tell the fleet. */
  revoked(door: Door, address: string): void {
    this.publisher.revoked(door, address);
  }

  status(): FleetStatus {
    return {
      cluster: this.deps.settings.cluster,
      node: this.node,
      redis: this.redis,
      connected: this.connected,
      since: this.since === null ? null : new Date(this.since).toISOString(),
      clockOffsetMs: this.clock.offset,
      clockRefused: this.clock.beyondBound,
      duplicateName: this.presence.duplicateSeenAt !== null,
      nodes: this.presence.list(),
      grantsPublished: this.publisher.published,
      grantsReceived: this.reader.received,
      revocationsReceived: this.reader.revocationsReceived,
      dropped: this.drops.count,
      pending: this.publisher.pending,
      replayFallbacks: this.replay.fallbacks,
      updated: new Date(this.localNow()).toISOString(),
    };
  }

  private get redis(): string {
    return `${this.deps.settings.redis.host}:${this.deps.settings.redis.port}`;
  }

  private async onReady(): Promise<void> {
    if (this.stopped) return;
    await syncClock(this.ctx, this.cmd).catch(() => {});
    this.connected = true;
    this.since = this.localNow();
    this.deps.log('info', 'fleet-connected', {
      redis: this.redis,
      clock_offset_ms: this.clock.offset,
      pending: this.publisher.pending,
    });
    await this.publisher.republish();
    await this.publisher.flush();
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

  /** Heartbeat: forget what has ended, beat (clock, this node, the others) if Redis is there, report. */
  private async beat(): Promise<void> {
    this.reader.prune();
    this.publisher.prune(this.localNow());
    // an idle command connection has nothing outstanding: a ping lets its timeout see a partition
    if (this.connected) this.cmd.ping().catch(() => {});
    if (this.connected && this.aux.status === 'ready')
      await this.presence.beat(this.aux, { published: this.publisher.published, received: this.reader.received });
    this.deps.onStatus?.(this.status());
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
