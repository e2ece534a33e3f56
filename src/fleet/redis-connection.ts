import { readFileSync } from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';
import type { FleetSettings } from '../core/fleet-settings.js';

/** Reconnect delays: 100 ms doubling to 5 s, with jitter so a fleet doesn't reconnect in lockstep. */
export function backoffMs(attempt: number, random = Math.random): number {
  const base = Math.min(5000, 100 * 2 ** Math.min(attempt - 1, 6));
  return Math.round(base * (0.75 + random() * 0.5));
}

/**
 * How long a connection waits for any byte of an answer before it is taken as dead and
 * reconnected: a silent partition (packets dropped, no reset) is seen in seconds, not when TCP
 * gives up minutes later. Longer than the reader's 1 s blocking read, which always answers.
 */
export const SOCKET_TIMEOUT_MS = 3000;

/**
 * Redis client options for the fleet. Commands never wait for a connection (no offline queue,
 * no retries per request): a caller gets an error at once and decides (the outbox keeps grants,
 * the replay cache falls back), so nothing local ever blocks on Redis.
 */
export function redisOptions(s: FleetSettings, name: string): RedisOptions {
  const password = s.passwordFile ? readFileSync(s.passwordFile, 'utf8').trim() : undefined;
  return {
    host: s.redis.host,
    port: s.redis.port,
    db: s.redis.db,
    ...(password ? { password } : {}),
    ...(s.redis.tls
      ? {
          tls: {
            servername: s.redis.host,
            ...(s.tls?.ca ? { ca: readFileSync(s.tls.ca) } : {}),
            ...(s.tls?.cert ? { cert: readFileSync(s.tls.cert) } : {}),
            ...(s.tls?.key ? { key: readFileSync(s.tls.key) } : {}),
          },
        }
      : {}),
    connectionName: name,
    connectTimeout: 2000,
    socketTimeout: SOCKET_TIMEOUT_MS,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    retryStrategy: (times) => backoffMs(times),
    lazyConnect: true,
  };
}

export function createRedis(s: FleetSettings, name: string): Redis {
  return new Redis(redisOptions(s, name));
}
