import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { isNodeName } from '../core/fleet-message.js';
import { DEFAULT_MAX_CLOCK_OFFSET_MS, DEFAULT_STREAM_LENGTH, type FleetSettings } from '../core/fleet-settings.js';
import { duration, parsed } from './schema.js';
import { readSecretFile, SecretFileError } from './secret-file.js';

/**
 * Top-level `fleet:`. Files (key, password, TLS) are checked here, so a config that can't
 * work fails at load with file:line like every other problem; the daemon reads them at start.
 */

/** `redis://HOST:PORT/DB` or `rediss://...`; credentials belong in `password_file`, not the URL. */
export function parseRedisUrl(v: unknown): FleetSettings['redis'] | string {
  const example = 'expected a URL like redis://10.0.0.5:6379/0 or rediss://redis.example.org:6380/0';
  if (typeof v !== 'string') return `${example}, got ${JSON.stringify(v)}`;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return `${example}, got ${JSON.stringify(v)}`;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    return `${example}; scheme ${url.protocol} is not redis: or rediss:`;
  if (url.username || url.password)
    return 'no credentials in the URL (they end up in logs and process lists); put the password in `password_file`';
  if (url.search || url.hash) return `${example}; query and fragment are not supported`;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) return `${example}; the host is missing`;
  const db = url.pathname === '' || url.pathname === '/' ? 0 : /^\/(\d{1,4})$/.exec(url.pathname)?.[1];
  if (db === undefined) return `${example}; the path is the database number, got ${JSON.stringify(url.pathname)}`;
  return { host, port: url.port ? Number(url.port) : 6379, db: Number(db), tls: url.protocol === 'rediss:' };
}

/** A file that must exist and be readable now (TLS files, the password). */
const readableFile = (what: string) =>
  z.string(`expected the path of ${what}`).superRefine((v, ctx) => {
    let problem: string | undefined;
    try {
      if (what === 'a password file' && readFileSync(v, 'utf8').trim() === '') problem = `${v}: the file is empty`;
      else readFileSync(v);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      problem = `${v}: ${code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? cause})`}`;
    }
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const fleetKey = z
  .string('expected the path of the fleet key file (the same on every node; `sesame token --new-secret` makes one)')
  .superRefine((v, ctx) => {
    try {
      readSecretFile(v);
    } catch (err) {
      if (!(err instanceof SecretFileError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
    }
  });

const clusterName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'expected a cluster name of 1-64 letters, digits, _ . or -');

export const fleetSchema = z.strictObject({
  redis: parsed(parseRedisUrl),
  name: clusterName,
  node: z
    .string()
    .refine(isNodeName, 'expected a node name of 1-64 letters, digits, _ . or -, starting with a letter or digit')
    .optional(),
  password_file: readableFile('a password file').optional(),
  tls: z
    .strictObject({
      ca: readableFile('a CA certificate').optional(),
      cert: readableFile('a client certificate').optional(),
      key: readableFile('a client key').optional(),
    })
    .optional(),
  key: fleetKey,
  replay: z.enum(['shared', 'shared-only']).default('shared'),
  stream_length: z
    .number('expected a number of events, e.g. 10000')
    .int('expected a whole number of events')
    .min(10, 'stream_length must be at least 10')
    .max(10_000_000, 'stream_length must be at most 10000000')
    .default(DEFAULT_STREAM_LENGTH),
  clock_offset_max: duration('clock_offset_max', 1000).default(DEFAULT_MAX_CLOCK_OFFSET_MS),
});

/** Fields of `fleet:` holding file paths, read relative to the config file. */
export const FLEET_PATH_FIELDS = [
  ['fleet', 'password_file'],
  ['fleet', 'key'],
  ['fleet', 'tls', 'ca'],
  ['fleet', 'tls', 'cert'],
  ['fleet', 'tls', 'key'],
] as const;

/** The validated `fleet:` as settings; the node name defaults to the host name. */
export function fleetSettings(f: z.infer<typeof fleetSchema>): FleetSettings | string {
  const node = f.node ?? hostname().split('.')[0];
  if (!isNodeName(node)) return `the host name ${JSON.stringify(node)} can't name a node; set \`fleet.node\``;
  if (f.tls && !f.redis.tls) return 'TLS files are set but the URL is redis://; use rediss://';
  return {
    redis: f.redis,
    cluster: f.name,
    node,
    ...(f.password_file ? { passwordFile: f.password_file } : {}),
    ...(f.tls ? { tls: f.tls } : {}),
    keyFile: f.key,
    replay: f.replay,
    streamLength: f.stream_length,
    maxClockOffsetMs: f.clock_offset_max,
  };
}
