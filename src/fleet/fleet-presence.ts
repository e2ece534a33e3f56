import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { receiveHeartbeat, signHeartbeat } from '../core/fleet-heartbeat.js';
import { type FleetContext, syncClock } from './fleet-context.js';
import type { FleetDrops } from './fleet-drops.js';
import type { NodeSeen } from './fleet-status.js';

/** A fleet has a handful of nodes; more heartbeat keys than this are not read (someone filled Redis). */
const MAX_NODES = 1000;

/**
 * Which nodes are there: each heartbeat refreshes the clock, sets this node's signed heartbeat
 * key (expiring after 5 periods, so a node that stops beating drops out) and reads everyone's.
 * Only signed heartbeats under their own name count as nodes; a forged value is dropped and
 * logged once, not on every beat.
 */
export class FleetPresence {
  private readonly nodes = new Map<string, NodeSeen>();
  /** The last refused value of each heartbeat key. */
  private readonly badHeartbeats = new Map<string, string>();
  /** This daemon process, in its heartbeats: another one under the same name is a clone. */
  private readonly instance = randomBytes(12).toString('base64url');
  /** Fleet-clock time of this node's last heartbeat. */
  private lastBeatAt: number | null = null;
  private lastDuplicateLog = Number.NEGATIVE_INFINITY;
  /** Another node beats under this node's name (set until it has not for a while). */
  duplicateSeenAt: number | null = null;

  constructor(
    private readonly ctx: FleetContext,
    private readonly drops: FleetDrops,
    private readonly periodMs: number,
  ) {}

  /** The nodes seen (this one included once it has beaten), by name. */
  list(): NodeSeen[] {
    return [...this.nodes.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * One heartbeat on `aux` (a connection of its own: the node list's SCAN walks the whole
   * keyspace, a key per running grant, and would hold up grants being published behind it).
   * `counts` are this node's, shown to the others.
   */
  async beat(aux: Redis, counts: { readonly published: number; readonly received: number }): Promise<void> {
    try {
      await syncClock(this.ctx, aux);
      const { settings } = this.ctx;
      const key = this.ctx.keys.node(settings.node);
      this.checkDuplicate(await aux.get(key));
      const at = this.ctx.clock.now();
      const me = signHeartbeat(this.ctx.key, settings.cluster, {
        name: settings.node,
        at,
        published: counts.published,
        received: counts.received,
        instance: this.instance,
      });
      await aux.set(key, me, 'PX', this.periodMs * 5);
      this.lastBeatAt = at;
      await this.readNodes(aux);
    } catch (err) {
      this.ctx.log('debug', 'fleet-heartbeat-failed', { reason: String((err as Error).message) });
    }
  }

  /**
   * The value under this node's heartbeat key, read before writing: signed, of another daemon
   * process and written since this node's last beat means two nodes share the name (clones of
   * one VM image). They would ignore each other's grants as their own, so it is logged loudly
   * (an error, at most once a minute). A restart is not a clone: the old process beats no more.
   */
  private checkDuplicate(text: string | null): void {
    const { settings, clock } = this.ctx;
    if (text === null || this.lastBeatAt === null) return;
    const v = receiveHeartbeat(text, {
      key: this.ctx.key,
      cluster: settings.cluster,
      keyName: settings.node,
      nowMs: clock.now(),
    });
    if (!v.ok || v.heartbeat.instance === this.instance || v.heartbeat.at <= this.lastBeatAt) {
      if (this.duplicateSeenAt !== null && clock.now() - this.duplicateSeenAt > this.periodMs * 10)
        this.duplicateSeenAt = null;
      return;
    }
    this.duplicateSeenAt = clock.now();
    if (this.ctx.localNow() - this.lastDuplicateLog < 60_000) return;
    this.lastDuplicateLog = this.ctx.localNow();
    this.ctx.log('error', 'fleet-duplicate-node', {
      node: settings.node,
      reason:
        'another sesame beats under this node name (a cloned VM image?): each ignores the grants of the other as its own; give every node its own fleet.node',
    });
  }

  /** Reads every node's heartbeat; only signed ones, under their own name, count as nodes seen. */
  private async readNodes(aux: Redis): Promise<void> {
    const { keys, clock } = this.ctx;
    const found: string[] = [];
    let cursor = '0';
    let rounds = 0;
    do {
      const [next, page] = await aux.scan(cursor, 'MATCH', keys.nodePattern, 'COUNT', 1000);
      found.push(...page);
      cursor = next;
    } while (cursor !== '0' && ++rounds < 100 && found.length < MAX_NODES);
    found.splice(MAX_NODES);
    const values = found.length ? await aux.mget(found) : [];
    const nowMs = clock.now();
    found.forEach((key, i) => {
      const text = values[i];
      if (text === null || text === undefined) return;
      const keyName = key.slice(keys.nodePrefix.length);
      const v = receiveHeartbeat(text, { key: this.ctx.key, cluster: this.ctx.settings.cluster, keyName, nowMs });
      if (!v.ok) {
        if (this.badHeartbeats.get(key) === text) return;
        if (this.badHeartbeats.size >= MAX_NODES) this.badHeartbeats.clear();
        this.badHeartbeats.set(key, text);
        this.drops.dropped(v.reason, v.detail, { what: 'heartbeat', node: keyName.slice(0, 64) });
        return;
      }
      this.badHeartbeats.delete(key);
      const h = v.heartbeat;
      this.nodes.set(h.name, {
        name: h.name,
        lastHeartbeat: new Date(clock.toLocal(h.at)).toISOString(),
        published: h.published,
        received: h.received,
      });
    });
  }
}
