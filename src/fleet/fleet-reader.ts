import type { Redis } from 'ioredis';
import type { Door, PortSpec } from '../core/door.js';
import { type FleetKind, parsePortText, receiveFleetMessage, SeenMessages } from '../core/fleet-message.js';
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
}

const READ_BATCH = 1000;

/**
 * The other nodes' grants and revocations, from Redis: the event stream as it grows (this
 * node's position in it kept in `lastId`), each message checked (signature, cluster, door,
 * time) and applied once (`seen` ids), in one kernel batch per read. After a start or an
 * outage it catches up first: it resumes the stream where it left it if Redis still has that
 * entry, otherwise it reads every running grant from the keys.
 */
export class FleetReader {
  /** Grants and revocations from other nodes written into this node's kernel. */
  received = 0;
  revocationsReceived = 0;
  private readonly seen = new SeenMessages();
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

  /** Forgets the ids of messages whose grants have ended. */
  prune(): void {
    this.seen.prune(this.ctx.clock.now());
  }

  /**
   * After a start or an outage: resume the stream where this node left it if Redis still has
   * that entry; otherwise note the stream's end, apply every running grant from the keys, and
   * read the stream from the noted end (so nothing between the two is missed; repeats dedupe).
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
    }
    const tail = await reader.xrevrange(keys.events, '+', '-', 'COUNT', 1);
    const startId = tail[0]?.[0] ?? '0-0';
    const texts: (string | null)[] = [];
    let cursor = '0';
    do {
      const [next, found] = await reader.scan(cursor, 'MATCH', keys.grantPattern, 'COUNT', 1000);
      if (found.length) texts.push(...(await reader.mget(found)));
      cursor = next;
    } while (cursor !== '0' && !this.stopped);
    const applied = await this.receive(texts);
    this.lastId = startId;
    this.ctx.log('info', 'fleet-catch-up', { grants: texts.length, applied });
  }

  /** Checks each message and applies the good ones in one kernel batch. Returns how many applied. */
  private async receive(texts: readonly (string | null | undefined)[]): Promise<number> {
    const { settings } = this.ctx;
    const nowMs = this.ctx.clock.now();
    const doors = this.deps.doors();
    const changes: FleetChange[] = [];
    for (const text of texts) {
      if (text === null || text === undefined) continue;
      const v = receiveFleetMessage(text, { key: this.ctx.key, cluster: settings.cluster, doors, nowMs });
      if (!v.ok) {
        this.deps.drops.dropped(v.reason, v.detail);
        continue;
      }
      const m = v.message;
      if (m.origin === settings.node) continue;
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
        if (c.kind === 'grant') this.received++;
        else this.revocationsReceived++;
      }
    } catch (err) {
      this.ctx.log('error', 'fleet-apply-failed', { count: changes.length, reason: String((err as Error).message) });
    }
    return changes.length;
  }
}

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
