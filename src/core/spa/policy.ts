import type { PortSpec } from '../port-spec.js';
import type { CmdCycle } from './cmd-cycle.js';
import type { GpgPolicy } from './gpg-policy.js';
import type { SpaKey } from './packet.js';

/**
 * What an SPA door accepts: one fwknopd access.conf stanza, field for field.
 * Frozen data built by config/ (sesame.yaml `spa:` doors or `--fwknop-access`).
 */
export interface SpaPolicy {
  /** SOURCE: addresses/CIDRs the packet may come from; null = ANY. */
  readonly sources: readonly string[] | null;
  /** DESTINATION: local addresses/CIDRs the packet may be sent to; null = any. */
  readonly destinations: readonly string[] | null;
  /**
   * The fwknop Rijndael keys; null for a door that takes only sesame's signed packets (its
   * `users:`' public keys) or only GnuPG packets (`gpg`).
   */
  readonly key: SpaKey | null;
  /** GnuPG stanza (GPG_DECRYPT_PW or GPG_ALLOW_NO_PW): packets encrypted to the server's key, signed by a pinned client. */
  readonly gpg?: GpgPolicy;
  /** OPEN_PORTS: every requested port must be one of these; null = any port (fwknopd's default). */
  readonly openPorts: readonly PortSpec[] | null;
  /** RESTRICT_PORTS: a request naming any of these is refused. */
  readonly restrictPorts: readonly PortSpec[];
  /** MAX_FW_TIMEOUT: cap on the lifetime a client asks for (`fwknop -f`). The door's `forMs` is FW_ACCESS_TIMEOUT. */
  readonly maxTimeoutMs: number;
  /** REQUIRE_SOURCE_ADDRESS: refuse `0.0.0.0` ("open for whoever sent this", `fwknop -s`). */
  readonly requireSource: boolean;
  /** REQUIRE_USERNAME: the packet's username must be one of these; null = any. */
  readonly usernames: readonly string[] | null;
  /** ACCESS_EXPIRE / ACCESS_EXPIRE_EPOCH: unix ms after which the stanza opens nothing; null = never. */
  readonly expiresAtMs: number | null;
  /** Packets whose timestamp is further than this from the server's clock are refused (MAX_SPA_PACKET_AGE). */
  readonly maxAgeMs: number;
  /**
   * CMD_CYCLE_OPEN/CLOSE: commands run instead of a firewall rule (fwknopd adds none for such a
   * stanza, so the door hides nothing); the grant is their timer (CMD_CYCLE_TIMER).
   */
  readonly commands?: CmdCycle;
  /** Where the stanza was written, e.g. `access.conf:12`, for logs. */
  readonly origin: string;
}

export const SPA_DEFAULTS = {
  udpPort: 62201,
  forMs: 30_000,
  maxTimeoutMs: 300_000,
  maxAgeMs: 120_000,
} as const;
