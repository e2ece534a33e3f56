import { timingSafeEqual } from 'node:crypto';
import { b64Decode, b64Encode } from './base64.js';
import { digest, type DigestType, digestTypesOfLength } from './digest.js';

/**
 * The decrypted SPA text (lib/fko_encode.c, fko_decode.c, fko_message.c):
 *
 *   rand16:b64(user):timestamp:version:type:b64(message)[:b64(nat)][:b64(server_auth)][:client_timeout]:digest
 *
 * where digest is b64(hash of everything before it) and message is `A.B.C.D,tcp/22[,udp/53...]`.
 * Parsing is pure and total: it returns a message or a reason, it never throws.
 */

/** fwknop's message types (lib/fko.h). Only 1 and 3 open ports in sesame. */
export const SPA_TYPE = {
  command: 0,
  access: 1,
  natAccess: 2,
  clientTimeoutAccess: 3,
  clientTimeoutNatAccess: 4,
  localNatAccess: 5,
  clientTimeoutLocalNatAccess: 6,
} as const;

export type SpaProto = 'tcp' | 'udp';

export interface SpaAccess {
  readonly proto: SpaProto;
  readonly port: number;
}

export interface SpaMessage {
  readonly random: string;
  readonly username: string;
  /** Client clock, unix seconds. */
  readonly timestamp: number;
  readonly version: string;
  readonly type: number;
  /** The address to open as written by the client; `0.0.0.0` means "the packet's source". */
  readonly allowIp: string;
  readonly access: readonly SpaAccess[];
  /** Seconds the client asked for (type 3); absent otherwise. */
  readonly clientTimeout?: number;
  readonly digestType: DigestType;
}

export type ParseResult = { ok: true; message: SpaMessage } | { ok: false; reason: string };

// limits from lib/fko_limits.h
const MAX_USERNAME = 64;
const MAX_MESSAGE = 256;
const MAX_TIMESTAMP = 12;
const MAX_VERSION = 8;
const MAX_FIELDS = 9;
const MIN_FIELDS = 6;
const MAX_CLIENT_TIMEOUT = 2 << 15;

// fwknop's validate_username(): printable, none of " / \ [ ] : ; | = , + * ? < >
const USERNAME = /^[\x20-\x7e]+$/;
const USERNAME_BAD = /["/\\[\]:;|=,+*?<>]/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const PRINTABLE = /^[\x20-\x7e]*$/;

const fail = (reason: string): ParseResult => ({ ok: false, reason });

/** Parses and checks the decrypted text: its digest first, then every field. */
export function parseSpaText(text: string): ParseResult {
  if (!PRINTABLE.test(text)) return fail('plaintext has non-printable characters');
  const fields = text.split(':');
  const colons = fields.length - 1;
  if (colons < MIN_FIELDS) return fail(`plaintext has ${colons + 1} fields, at least ${MIN_FIELDS + 1} expected`);
  if (colons > MAX_FIELDS) return fail(`plaintext has ${colons + 1} fields, at most ${MAX_FIELDS + 1} expected`);

  const sent = fields[colons];
  const signed = text.slice(0, text.length - sent.length - 1);
  const digestType = matchDigest(signed, sent);
  if (!digestType) return fail('message digest does not match');

  const [random, user64, ts, version, type] = fields;
  if (!/^\d{16}$/.test(random)) return fail('random field is not 16 digits');
  if (user64.length === 0 || user64.length > MAX_USERNAME) return fail('username missing or too long');
  const user = b64Decode(user64)?.toString('latin1');
  if (!user || !USERNAME.test(user) || USERNAME_BAD.test(user)) return fail('username is not valid');
  if (!/^\d+$/.test(ts) || ts.length > MAX_TIMESTAMP) return fail('timestamp is not a number');
  if (version.length === 0 || version.length > MAX_VERSION) return fail('version missing or too long');
  if (!/^\d{1,2}$/.test(type)) return fail('message type is not a number');
  const t = Number(type);
  if (t === SPA_TYPE.command) return fail('command messages (type 0) are not supported');
  if (t !== SPA_TYPE.access && t !== SPA_TYPE.clientTimeoutAccess) {
    return fail(t <= 6 ? `NAT access (type ${t}) is not supported` : `unknown message type ${t}`);
  }

  // after the type: message, [server_auth], [client_timeout for type 3], digest
  const rest = fields.slice(5, colons);
  const withTimeout = t === SPA_TYPE.clientTimeoutAccess;
  const expected = withTimeout ? [2, 3] : [1, 2];
  if (!expected.includes(rest.length)) return fail(`type ${t} message has ${rest.length} fields after the type`);

  const access = parseAccessMessage(rest[0]);
  if (typeof access === 'string') return fail(access);
  if (rest.length === expected[1] && !b64Decode(rest[1])) return fail('server_auth field is not base64');

  let clientTimeout: number | undefined;
  if (withTimeout) {
    const ct = rest[rest.length - 1];
    if (!/^\d{1,6}$/.test(ct) || Number(ct) > MAX_CLIENT_TIMEOUT) return fail('client timeout is not a number');
    clientTimeout = Number(ct);
  }
  return {
    ok: true,
    message: {
      random,
      username: user,
      timestamp: Number(ts),
      version,
      type: t,
      allowIp: access.allowIp,
      access: access.access,
      ...(clientTimeout !== undefined ? { clientTimeout } : {}),
      digestType,
    },
  };
}

/** The digest type whose b64 digest of `signed` is `sent` (typed by length, SHA-2 before SHA-3 as fwknop does). */
function matchDigest(signed: string, sent: string): DigestType | null {
  const got = Buffer.from(sent, 'latin1');
  for (const type of digestTypesOfLength(sent.length)) {
    const want = Buffer.from(b64Encode(digest(type, signed)), 'latin1');
    if (want.length === got.length && timingSafeEqual(want, got)) return type;
  }
  return null;
}

/**
 * `b64("A.B.C.D,tcp/22,udp/53")` → address and ports, or the reason it isn't one.
 * An IPv6 address is accepted too (sesame's client over IPv6; stock clients write IPv4 only).
 */
export function parseAccessMessage(field: string): { allowIp: string; access: SpaAccess[] } | string {
  if (field.length === 0 || field.length > MAX_MESSAGE) return 'access message missing or too long';
  const msg = b64Decode(field)?.toString('latin1');
  if (!msg || !PRINTABLE.test(msg)) return 'access message is not base64 text';
  const parts = msg.split(',');
  if (parts.length < 2) return 'access message names no port';
  const allowIp = parts[0];
  if (!IPV4.test(allowIp) && !isIpv6Text(allowIp)) return 'access message address is not an IP address';
  const access: SpaAccess[] = [];
  for (const p of parts.slice(1)) {
    const m = /^(tcp|udp|icmp|none)\/(\d{1,5})$/.exec(p);
    if (!m) return `access message entry ${JSON.stringify(p.slice(0, 32))} is not proto/port`;
    if (m[1] !== 'tcp' && m[1] !== 'udp') return `${m[1]} access is not supported (tcp and udp ports only)`;
    const port = Number(m[2]);
    if (port < 1 || port > 65535) return `port ${port} out of range`;
    access.push({ proto: m[1], port });
  }
  return { allowIp, access };
}

/** A conservative IPv6 text check (hex groups, one `::`, optional dotted tail); the daemon checks again with isIP. */
function isIpv6Text(s: string): boolean {
  if (s.length < 2 || s.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(s) || !s.includes(':')) return false;
  const dbl = s.split('::').length - 1;
  if (dbl > 1) return false;
  let groups = s.split(':').filter((g) => g !== '');
  let count = groups.length;
  const last = groups[groups.length - 1] ?? '';
  if (last.includes('.')) {
    if (!IPV4.test(last)) return false;
    groups = groups.slice(0, -1);
    count += 1;
  }
  if (!groups.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  return dbl === 1 ? count < 8 : count === 8;
}

export interface SpaTextInput {
  readonly username: string;
  readonly timestamp: number;
  readonly allowIp: string;
  readonly access: readonly SpaAccess[];
  readonly clientTimeout?: number;
  readonly version?: string;
  readonly digestType?: DigestType;
  /** 16 digits; random by default. */
  readonly random: string;
}

/** The plaintext the client encrypts (fko_encode_spa_data), digest included. */
export function formatSpaText(m: SpaTextInput): string {
  const type = m.clientTimeout !== undefined ? SPA_TYPE.clientTimeoutAccess : SPA_TYPE.access;
  const message = [m.allowIp, ...m.access.map((a) => `${a.proto}/${a.port}`)].join(',');
  const fields = [
    m.random,
    b64Encode(m.username),
    String(m.timestamp),
    m.version ?? '3.0.0',
    String(type),
    b64Encode(message),
    ...(m.clientTimeout !== undefined ? [String(m.clientTimeout)] : []),
  ];
  const text = fields.join(':');
  const type_ = m.digestType ?? 'sha256';
  return `${text}:${b64Encode(digest(type_, text))}`;
}
