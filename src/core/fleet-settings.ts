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
}
