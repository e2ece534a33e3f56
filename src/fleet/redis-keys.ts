import { createHash } from 'node:crypto';

/**
 * Every Redis key sesame uses, in one place. All live under `sesame:<cluster>:`, so clusters
 * can share a Redis and `SCAN MATCH` never crosses them (cluster names hold no glob characters).
 */
export function fleetKeys(cluster: string) {
  const base = `sesame:${cluster}:`;
  return {
    /** The running grant of `door` for `address`: the signed message, expiring with the grant (PX). */
    grant: (door: string, address: string) => `${base}grant:${door}:${address}`,
    grantPattern: `${base}grant:*`,
    /**
     * The revocation of `door` for `address`: the signed message, kept until every grant it
     * could have ended is over, so a node that was away or restarted still learns of it.
     */
    revoked: (door: string, address: string) => `${base}revoked:${door}:${address}`,
    revokedPattern: `${base}revoked:*`,
    /** Bounded stream of every grant and revocation, read live (XREAD BLOCK) and resumed after a short outage. */
    events: `${base}events`,
    /** A node's heartbeat, expiring when it stops. */
    node: (name: string) => `${base}node:${name}`,
    nodePattern: `${base}node:*`,
    nodePrefix: `${base}node:`,
    /** A used token (`SET NX PX`); hashed so door names and nonces never shape the key. */
    replay: (key: string) => `${base}replay:${createHash('sha256').update(key).digest('base64url')}`,
  };
}

export type FleetKeys = ReturnType<typeof fleetKeys>;
