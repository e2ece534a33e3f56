import { isIP } from 'node:net';
import { z } from 'zod';
import { DEFAULT_FLAGS, type PortSpec, type Proto } from '../core/door.js';
import { MAX_DURATION_MS, parseDuration } from '../core/duration.js';
import { parsePortSpec } from '../core/port-spec.js';
import { parseTcpFlags } from '../core/tcp-flags.js';
import { readOneTimeFile } from './one-time-file.js';
import { spaListenSchema } from './spa-listen.js';
import { DOOR_NAME, DOOR_NAME_RULE } from '../core/door-name.js';
import { SEEN_MARK } from '../core/kernel-names.js';

/**
 * The sesame.yaml schema. Field parsers return readable messages; `load-config.ts`
 * places each one at its line and column.
 */

/** A field checked by `parse`, which returns the value or a message. */
export function parsed<T>(parse: (v: unknown) => T | string) {
  return z.unknown().transform((value, ctx): T => {
    const result = parse(value);
    if (typeof result === 'string') {
      ctx.addIssue({ code: 'custom', message: result, input: value });
      return z.NEVER;
    }
    return result;
  });
}

export const duration = (what: string, min = 1) =>
  parsed((v) => {
    const ms = parseDuration(v);
    if (ms === null) return `bad duration ${JSON.stringify(v)}; expected e.g. 45s, 2m, 1500ms or seconds`;
    if (ms < min) return `${what} must be at least ${min}ms, got ${JSON.stringify(v)}`;
    if (ms > MAX_DURATION_MS) return `${what} longer than 24 days is not supported, got ${JSON.stringify(v)}`;
    return ms;
  });

const port = (proto: Proto = 'tcp') => parsed<PortSpec>((v) => parsePortSpec(v, proto));
export const portList = z.array(port()).min(1, 'expected at least one port');

const flags = parsed((v) =>
  typeof v === 'string' ? parseTcpFlags(v) : `expected a string like "syn,!ack", got ${JSON.stringify(v)}`,
);

/**
 * A knock sequence: a list of ports, or `{ports, within, flags}`. A port may repeat (knockd
 * counts each hit): for tcp, the kernel counts a repeat only from a new connection (a new
 * source port), so a retransmitted SYN is not a second knock (see nft/sequence.ts).
 */
const sequence = portList;

const run = z.strictObject({
  start: z.string().min(1).optional(),
  stop: z.string().min(1).optional(),
  // IPv6 knockers (knockd's Start_Command_6); "" runs nothing for them
  start6: z.string().optional(),
  stop6: z.string().optional(),
});

/** `knock: {one_time: FILE}`: knockd's one-time sequence file; its first unused line is read now. */
const oneTimeKnock = z.strictObject({
  one_time: parsed((v) => {
    if (typeof v !== 'string' || v === '') return `expected the path of a sequence file, got ${JSON.stringify(v)}`;
    try {
      return { file: v, active: readOneTimeFile(v).active };
    } catch (err) {
      return (err as Error).message;
    }
  }),
});

/**
 * `knock:` is a port list or `{one_time: FILE}`. Dispatching on the shape (instead of
 * z.union) keeps each branch's own messages and paths, e.g. `knock[2]: port 70000 ...`.
 */
const knockField = z.unknown().transform((value, ctx) => {
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!Array.isArray(value) && !isObject) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected a list of ports like [7000, 8000, 9000] or { one_time: FILE }',
      input: value,
    });
    return z.NEVER;
  }
  const r = Array.isArray(value) ? sequence.safeParse(value) : oneTimeKnock.safeParse(value);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue({ ...issue, input: issue.input } as never);
  return z.NEVER;
});

export const runSchema = run;
export const replySchema = z.enum(['drop', 'reject']).default('drop');
export const interfaceSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,15}$/, 'expected an interface name like eth0');
export { flags as flagsSchema, knockField, sequence as sequenceSchema };

/** `fleet: false` on a door keeps its grants on this node (see fleet-schema.ts for top-level `fleet:`). */
export const doorFleetSchema = z.boolean().optional();

/** `host:port`, `[v6]:port` or a bare port (all addresses). */
export function parseListen(v: unknown): { host: string; port: number } | string {
  const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]:|([^:\s]+):)?(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535)
    return `expected an address and port like 0.0.0.0:8443, [::]:8443 or 8443, got ${JSON.stringify(v)}`;
  const host = m[1] ?? m[2] ?? '::';
  if (m[1] !== undefined && isIP(m[1]) !== 6) return `${m[1]} is not an IPv6 address`;
  return { host, port };
}

/** An address or CIDR in `trusted_proxies`. */
function isAddressOrCidr(v: string): boolean {
  const [addr, bits, extra] = v.split('/');
  const family = isIP(addr);
  if (!family || extra !== undefined) return false;
  return bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
}

const proxy = z.string().refine(isAddressOrCidr, 'expected an address or CIDR like 10.0.0.0/8 or fd00::/64');

/** The built-in HTTP(S) knock endpoint (top-level `http:`), used by `http` doors. */
export const httpEndpointSchema = z.strictObject({
  listen: parsed(parseListen),
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  trusted_proxies: z.array(proxy).default([]),
  rate_limit: z
    .union([
      z.literal(false),
      z.strictObject({ attempts: z.number().int().min(1).default(10), per: duration('per').default(60_000) }),
    ])
    .default({ attempts: 10, per: 60_000 }),
  // wrong TOTP codes are budgeted per source prefix of this size, so one network can't lock out the rest
  wrong_code_prefix: z
    .strictObject({
      ipv4: z.number().int().min(8).max(32).default(24),
      ipv6: z.number().int().min(16).max(128).default(48),
    })
    .default({ ipv4: 24, ipv6: 48 }),
});

/** Top-level `metrics:`: Prometheus on its own listener, localhost unless told (a bare port is 127.0.0.1). */
export const metricsSchema = z.strictObject({
  listen: parsed((v) =>
    parseListen(typeof v === 'number' || /^\s*\d+\s*$/.test(String(v)) ? `127.0.0.1:${v}` : v),
  ).default({
    host: '127.0.0.1',
    port: 9731,
  }),
});

export const configSchema = z.strictObject({
  interface: interfaceSchema.optional(),
  trusted_interfaces: z.array(interfaceSchema).optional(),
  // a packet mark for grant holders, so a firewall kept beside sesame can let them through
  grant_mark: z
    .number()
    .int()
    .min(1)
    .max(0xffffffff)
    .refine(
      (m) => (m & SEEN_MARK) === 0,
      `bit 0x${SEEN_MARK.toString(16)} is sesame's own conntrack mark (shared-port doors); pick bits without it, e.g. 0x10000000`,
    )
    .optional(),
  log: z.strictObject({ format: z.enum(['text', 'json']).default('text') }).optional(),
  nflog_group: z.number().int().min(1).max(65535).default(7331),
  set_size: z
    .number()
    .int()
    .min(16)
    .max(1 << 20)
    .default(65536),
  scan_guard: z
    .union([
      z.literal(false),
      z.strictObject({ rate: z.number().int().min(1).default(20), burst: z.number().int().min(1).default(40) }),
    ])
    .default({ rate: 20, burst: 40 }),
  http: httpEndpointSchema.optional(),
  metrics: metricsSchema.optional(),
  spa: spaListenSchema.optional(),
  // the users file (or users.d folder), read by users-file.ts; default /etc/sesame/users.yaml when a door names users
  users: z.string().min(1).optional(),
  // validated by fleet-schema.ts, with its own paths and file checks
  fleet: z.record(z.string(), z.unknown()).optional(),
  // Each door is validated by the schema of its kind (see door-kinds.ts).
  // `doors:` with every door commented out (the shipped config) is YAML's null: no doors
  doors: z.preprocess(
    (v) => v ?? {},
    z.record(z.string().regex(DOOR_NAME, `door names are ${DOOR_NAME_RULE}`), z.record(z.string(), z.unknown())),
  ),
});

export type ConfigInput = z.infer<typeof configSchema>;
export { DEFAULT_FLAGS };
