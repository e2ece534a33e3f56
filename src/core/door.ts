import type { FilterDefinition } from './fail2ban/filter.js';
import type { FleetSettings } from './fleet-settings.js';
import type { PortSpec, Proto } from './port-spec.js';
import type { SpaPolicy } from './spa/policy.js';
import type { UsersPlan } from './users.js';
import type { OidcAllow } from './oidc-allow.js';

/**
 * The door model: what `config/` produces and every backend consumes.
 * Plain frozen data, no I/O. Durations are integer milliseconds.
 */

// A port and its protocol live in port-spec.ts (policy.ts needs them without the door model).
export type { PortSpec, Proto };
export type Family = 4 | 6;
export type Reply = 'drop' | 'reject';

export const TCP_FLAGS = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg'] as const;
export type TcpFlag = (typeof TCP_FLAGS)[number];

/**
 * knockd's tcpflags: listed flags must be set, `!flag` must be clear, the rest don't matter.
 * A knock packet whose flags don't match is ignored (neither progress nor reset).
 */
export interface TcpFlagMatch {
  readonly set: readonly TcpFlag[];
  readonly clear: readonly TcpFlag[];
}

/** An ordered list of knocks that must arrive within `withinMs` of the first. */
export interface Sequence {
  readonly ports: readonly PortSpec[];
  readonly flags: TcpFlagMatch;
  readonly withinMs: number;
}

export interface RunCommands {
  readonly start?: string;
  readonly stop?: string;
  /** For IPv6 knockers (knockd's Start_Command_6); absent: `start` is used, empty: nothing runs. */
  readonly start6?: string;
  /** For IPv6 knockers (knockd's Stop_Command_6); absent: `stop` is used, empty: nothing runs. */
  readonly stop6?: string;
}

interface DoorBase {
  readonly name: string;
  /** Ports granted to the knocker's address. */
  readonly open: readonly PortSpec[];
  readonly forMs: number;
  readonly reply: Reply;
  readonly interface?: string;
  /** Interfaces where the door's ports are reachable without a knock (a LAN, `lo`). */
  readonly trustedInterfaces?: readonly string[];
  readonly run?: RunCommands;
  /** `fleet: false`: this door's grants stay on this node (default: shared when `fleet` is set). */
  readonly fleet?: boolean;
  /** `users: [alice, "@admins"]`: users (or @groups) of the users file who may knock with their own keys. */
  readonly users?: readonly string[];
}

/** knockd-style: a port sequence opens, an optional close sequence closes. */
export interface SequenceDoor extends DoorBase {
  readonly kind: 'sequence';
  readonly knock: Sequence;
  readonly close?: Sequence;
}

/**
 * fail2ban-style web knock: a line in a log file (e.g. nginx's access log) that matches
 * `failregex` grants the address in its `<HOST>` once it hit `maxRetry` times within `findTimeMs`.
 */
export interface LogDoor extends DoorBase {
  readonly kind: 'log';
  readonly log: LogWatch;
}

/** What a log door runs per line: a fail2ban filter definition (see core/fail2ban/filter.ts). */
export interface LogWatch extends FilterDefinition {
  /** Exactly one of `file` (followed like tail -F) and `journal` (journalctl matches). */
  readonly file?: string;
  readonly journal?: readonly string[];
  readonly maxRetry: number;
  readonly findTimeMs: number;
  /**
   * Longer lines are counted and skipped, never matched (`max_line`): a regex's cost grows with
   * the line, and a knock line is short, so only other clients' lines (a hostile User-Agent) are lost.
   */
  readonly maxLine: number;
}

/** `max_line`'s default, in characters: far above a knock's line, 8 KB below nginx's own header limit. */
export const DEFAULT_MAX_LOG_LINE = 4096;
/** The longest `max_line`, below what the followers keep of a line (64 KiB), so a cut line is still too long. */
export const MAX_LOG_LINE_CAP = 32 * 1024;

/** One-time tokens the built-in HTTP endpoint accepts for a door. */
export type TokenKind = 'totp' | 'hmac';

/** Knock over the daemon's HTTP(S) endpoint (top-level `http:`). */
export interface HttpDoor extends DoorBase {
  readonly kind: 'http';
  readonly http: {
    /** Accepted tokens; empty means plain secret-path mode (replayable). */
    readonly tokens: readonly TokenKind[];
    /** File holding the base32 shared secret (token doors). */
    readonly secretFile?: string;
    /** `GET <path>` opens (secret-path mode only). */
    readonly path?: string;
    /** Sign-in at an OpenID provider opens (no token, no path). */
    readonly oidc?: OidcSettings;
  };
}

/** An http door's OpenID Connect sign-in (authorization code flow with PKCE). */
export interface OidcSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecretFile: string;
  /** This endpoint's callback as registered at the provider: `https://HOST:PORT/oidc/callback`. */
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  readonly groupsClaim: string;
  readonly allow: OidcAllow;
}

/**
 * knockd's one_time_sequences: the kernel matches the file's first unused line; after each
 * use the daemon marks that line with `#` and loads the next one (see config/one-time-file.ts).
 */
export interface OneTimeDoor extends DoorBase {
  readonly kind: 'one-time';
  readonly file: string;
  /** The active sequence; null when every line is used, which disables the door. */
  readonly knock: Sequence | null;
  /** 1-based line of `knock` in `file`; 0 when disabled. */
  readonly line: number;
  /** Flags and time limit every sequence of the file gets. */
  readonly flags: TcpFlagMatch;
  readonly withinMs: number;
}

/**
 * Single-port knock on the service port itself: `count` SYNs to `port` arm it, and the next
 * SYN is let through (and granted) only if it comes `windowMs[0]`..`windowMs[1]` after the
 * first. Faster (a burst) or slower starts the count over. A plain client's SYN retries are the knock.
 */
export interface HitDoor extends DoorBase {
  readonly kind: 'hits';
  readonly hits: { readonly port: number; readonly count: number; readonly windowMs: readonly [number, number] };
}

/**
 * Shared-port knock: the first data bytes of a connection to `port` (443) carry a secret;
 * the knocker's next new connection to `port` goes to `redirectTo` (22) instead, so the
 * HTTPS site on `port` stays up for everyone else (and for the knocker after).
 */
export interface SharedDoor extends DoorBase {
  readonly kind: 'shared';
  readonly shared: {
    readonly port: number;
    readonly redirectTo: number;
    /** oneshot: only the next connection is redirected; window: every one for `forMs` (the seed). */
    readonly mode: 'oneshot' | 'window';
    /** static: the file's bytes are the secret (replayable); token: the file holds a base32 HMAC key. */
    readonly secretKind: 'static' | 'token';
    readonly secretFile: string;
    /** Hex of the bytes the kernel matches at the start of the first data packet. */
    readonly matchHex: string;
  };
}

/**
 * fwknop-compatible single packet authorization: one access.conf stanza (or one `spa:` door).
 * `open` holds OPEN_PORTS, the ports sesame hides; a grant opens only the ports the packet
 * asked for, for the address it names (see core/spa/admit.ts).
 */
export interface SpaDoor extends DoorBase {
  readonly kind: 'spa';
  readonly spa: SpaPolicy;
}

export type Door = SequenceDoor | LogDoor | HttpDoor | OneTimeDoor | HitDoor | SharedDoor | SpaDoor;

/** The daemon's HTTP(S) knock endpoint, shared by every `http` door. */
export interface HttpEndpoint {
  readonly listen: { readonly host: string; readonly port: number };
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Peers (address or CIDR) whose X-Forwarded-For / Forwarded header names the client. */
  readonly trustedProxies: readonly string[];
  /** Knock attempts per client address; null turns the limit off. */
  readonly rateLimit: { readonly attempts: number; readonly perMs: number } | null;
  /** Prefix lengths wrong TOTP codes are budgeted by (one network can't spend another's budget). */
  readonly wrongCodePrefix?: { readonly ipv4: number; readonly ipv6: number };
}

export interface ScanGuard {
  /** New connections per second per address above which knock progress is reset. */
  readonly rate: number;
  readonly burst: number;
}

/** Everything the firewall needs, validated and frozen. */
export interface Plan {
  readonly doors: readonly Door[];
  readonly nflogGroup: number;
  /** Bound on every dynamic set, so a spoofed-source flood can't exhaust kernel memory. */
  readonly setSize: number;
  readonly scanGuard: ScanGuard | null;
  /** The built-in HTTP knock endpoint, when configured. */
  readonly http?: HttpEndpoint;
  /** Where SPA packets are received, when the plan has `spa` doors. */
  readonly spaListen?: SpaListen;
  /** `log: {format}` from the config; `serve --log-format` overrides it. */
  readonly logFormat?: 'text' | 'json';
  /** Fleet mode, when configured: grants go to every node through Redis. */
  readonly fleet?: FleetSettings;
  /** Prometheus `/metrics` listener (top-level `metrics:`), when configured. */
  readonly metrics?: { readonly listen: { readonly host: string; readonly port: number } };
  /**
   * `grant_mark`: bits set on the packets of grant holders (`meta mark`), so a firewall kept
   * beside sesame, whose drop sesame's accept can't undo, can accept them before its drop.
   */
  readonly grantMark?: number;
  /** The users file (`users:`), when set or when a door names users. */
  readonly users?: UsersPlan;
  /**
   * What loads but is weak, each `file:line:column field: message` (a log door's regex that
   * isn't anchored); `check`, `doctor` and `serve` print them.
   */
  readonly warnings?: readonly string[];
  /** Where the config came from, for messages. */
  readonly source: string;
}

/** SPA listeners: fwknop's `-P udp` (default 62201), `-P tcp`, `-P http`; null = off. */
export interface SpaListen {
  /** Address to bind; absent: every address, IPv4 and IPv6. */
  readonly host?: string;
  readonly udp: number | null;
  readonly tcp: number | null;
  readonly http: number | null;
}

/**
 * Knock packets when a door has no `flags`: a bare SYN, what every knock client sends. FIN, RST
 * and ACK must be clear, so SYN+FIN, SYN+RST (scanner and fuzzer probes) and SYN+ACK (a reply)
 * never count; PSH, URG, ECE and CWR are not looked at (an ECN client's SYN carries ECE+CWR).
 * A door's own `flags:` keeps knockd's meaning: only the flags it lists are looked at.
 */
export const DEFAULT_FLAGS: TcpFlagMatch = Object.freeze({
  set: ['syn'] as TcpFlag[],
  clear: ['fin', 'rst', 'ack'] as TcpFlag[],
});

export function formatPort(p: PortSpec): string {
  return `${p.port}/${p.proto}`;
}
