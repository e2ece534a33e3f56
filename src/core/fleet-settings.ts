/** Fleet mode (top-level `fleet:`): nodes share grants, revocations and used tokens through Redis. */
export interface FleetSettings {
  /** Where Redis is: `redis://HOST:PORT/DB` or `rediss://` (TLS). */
  readonly redis: { readonly host: string; readonly port: number; readonly db: number; readonly tls: boolean };
  /** The cluster: every key is `sesame:<cluster>:...`, and MACs cover it. */
  readonly cluster: string;
  /** This node's name in messages and heartbeats (default: the host name). */
  readonly node: string;
  /** File holding the Redis password (`requirepass`), if any. */
  readonly passwordFile?: string;
  /** Extra TLS files for `rediss://`: a private CA, a client certificate and key. */
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string };
  /** File holding the fleet key (base32, the same on every node). */
  readonly keyFile: string;
  /**
   * Used tokens: `shared` records them in Redis and falls back to the local cache when Redis
   * is down (logged `replay: local-fallback`); `shared-only` refuses token knocks then.
   */
  readonly replay: 'shared' | 'shared-only';
  /** Events the stream keeps; a node away for more catches up from the keys (and reconciles). */
  readonly streamLength: number;
  /**
   * The largest offset between Redis's `TIME` and this node's clock it accepts; past it the
   * node logs and refuses every fleet message (someone may be shifting `TIME` on the path).
   */
  readonly maxClockOffsetMs: number;
}

export const DEFAULT_STREAM_LENGTH = 10_000;
export const DEFAULT_MAX_CLOCK_OFFSET_MS = 30_000;

const LOOPBACK = /^(127\.|::1$|localhost$)/;

/**
 * What is weak about how a fleet reaches Redis, for `check` and `doctor`: anyone who can talk
 * to an unauthenticated Redis can delete grants and revocations and burn tokens, and on a plain
 * link anyone on the path can read every grant and shift `TIME`. Pure.
 */
export function fleetLinkWarnings(s: FleetSettings): string[] {
  const out: string[] = [];
  if (!s.passwordFile)
    out.push(
      `fleet: redis ${s.redis.host}:${s.redis.port} is used without a password: anyone who reaches it can delete grants and revocations and mark tokens used; set requirepass and fleet.password_file`,
    );
  if (!s.redis.tls && !LOOPBACK.test(s.redis.host))
    out.push(
      `fleet: redis ${s.redis.host}:${s.redis.port} is reached without TLS: anyone on the path reads the grants and can shift TIME or cut the link; use rediss:// (fleet.tls)`,
    );
  return out;
}
