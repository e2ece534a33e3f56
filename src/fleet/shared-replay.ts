import type { Redis } from 'ioredis';
import type { LogFn, ReplayCache } from '../core/contracts.js';
import type { FleetKeys } from './redis-keys.js';

/** Extra time a used token is remembered in Redis, so nodes whose clocks differ still agree. */
const CLOCK_MARGIN_MS = 60_000;
const REDIS_WAIT_MS = 500;

/**
 * Used tokens shared by the fleet: `SET <key> 1 NX PX <ttl>` succeeds on one node only, so a
 * token (HTTP, TOTP step, SPA packet, shared-port token) used on one node is refused on all.
 * The local cache is always asked too. With Redis away: `shared` falls back to the local cache
 * (logged once per outage as `replay mode=local-fallback`), `shared-only` refuses the knock.
 */
export class SharedReplay {
  private fallingBack = false;
  fallbacks = 0;

  /** `local` checked by this node and by the fleet: what sources get in fleet mode. */
  wrap(local: ReplayCache): ReplayCache {
    return { use: (key, ttlMs) => this.use(local, key, ttlMs), close: () => local.close() };
  }

  constructor(
    private readonly deps: {
      readonly redis: () => Redis | undefined;
      readonly keys: FleetKeys;
      readonly mode: 'shared' | 'shared-only';
      readonly log: LogFn;
    },
  ) {}

  /** Marks `key` used for `ttlMs`; false when it was used before here or anywhere in the fleet. */
  async use(local: ReplayCache, key: string, ttlMs: number): Promise<boolean> {
    const redis = this.deps.redis();
    if (!redis && this.deps.mode === 'shared-only') return this.refuse(key);
    if (!(await local.use(key, ttlMs))) return false;
    if (redis) {
      try {
        const ttl = Math.max(1, ttlMs) + CLOCK_MARGIN_MS;
        const r = await withTimeout(redis.set(this.deps.keys.replay(key), '1', 'PX', ttl, 'NX'), REDIS_WAIT_MS);
        if (this.fallingBack) this.deps.log('info', 'replay', { mode: 'shared' });
        this.fallingBack = false;
        return r === 'OK';
      } catch (err) {
        this.deps.log('debug', 'replay-redis-failed', { reason: String((err as Error).message) });
        if (this.deps.mode === 'shared-only') return this.refuse(key);
      }
    }
    this.fallbacks++;
    if (!this.fallingBack)
      this.deps.log('warn', 'replay', {
        mode: 'local-fallback',
        reason: 'redis unreachable; used tokens are checked on this node only',
      });
    this.fallingBack = true;
    return true;
  }

  private refuse(key: string): boolean {
    this.deps.log('warn', 'replay', {
      mode: 'shared-only',
      refused: key.split(' ').slice(0, 2).join(' '),
      reason: 'redis unreachable',
    });
    return false;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer from redis in ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
