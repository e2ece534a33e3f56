/**
 * The contracts every layer shares, one name each: the event log, the clock and the replay
 * cache. Types only (erased at build time), so any layer may import them without loading code.
 * The door-name rule, a value, is in door-name.ts.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

/** The event log: one line per event (daemon/logger.ts writes text or JSON). */
export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
}

/** Logger.log as a plain function, for parts handed only that. */
export type LogFn = Logger['log'];

/** Milliseconds since the epoch; `Date.now` outside tests. */
export type Clock = () => number;

/**
 * Remembers one-time things (HMAC nonces, TOTP steps, SPA packets) so each is accepted once.
 * `use` may answer asynchronously, so a shared cache (Redis `SET key 1 NX PX ttl`) fits the
 * same contract; the local ones answer at once. Callers always `await` the answer.
 */
export interface ReplayCache {
  /**
   * Marks `key` used for `ttlMs`. True for the first use, false while the key is remembered
   * (a replay). Rejects when the use can't be recorded durably: callers then refuse.
   */
  use(key: string, ttlMs: number): boolean | Promise<boolean>;
  close(): void | Promise<void>;
}
