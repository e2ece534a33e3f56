import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { SpaDoor } from '../../core/door.js';
import { DIGEST_TYPES } from '../../core/spa/digest.js';
import { parseSpaKeys, type SpaKeyPair } from '../../core/spa/key-text.js';
import { SPA_DEFAULTS } from '../../core/spa/policy.js';
import { addressList } from '../fwknop-access.js';
import { duration, parsed, portList } from '../schema.js';
import { doorBase, doorBaseFields, type DoorKind } from './kind.js';

/** The key file: what `sesame token --spa-keys` (or `fwknop --key-gen`) prints. */
const keysFile = parsed<{ file: string; pair: SpaKeyPair }>((v) => {
  if (typeof v !== 'string' || v === '') return `expected the path of a key file, got ${JSON.stringify(v)}`;
  let text: string;
  try {
    text = readFileSync(v, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return `${v}: ${code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? err})`}`;
  }
  const pair = parseSpaKeys(text);
  return typeof pair === 'string' ? `${v}: ${pair}` : { file: v, pair };
});

const addresses = parsed<string[] | null>((v) => {
  const list = Array.isArray(v) ? v.join(',') : typeof v === 'string' ? v : '';
  if (list === '') return `expected ANY or a list of addresses/CIDRs, got ${JSON.stringify(v)}`;
  const r = addressList(list, true);
  if (r === 'any') return null;
  return typeof r === 'string' ? r : r;
});

/** ACCESS_EXPIRE: a date or time (ISO 8601, `2030-01-31`) after which the door opens nothing. */
const expires = parsed<number>((v) => {
  const ms = typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v) : NaN;
  return Number.isFinite(ms) ? ms : `expected an ISO 8601 date like 2030-01-31T00:00:00Z, got ${JSON.stringify(v)}`;
});

const spaSettings = z.strictObject({
  expires: expires.optional(),
  // absent: the door takes only signed packets from its `users:` (their public keys)
  keys: keysFile.optional(),
  hmac: z.enum(DIGEST_TYPES).default('sha256'),
  mode: z.enum(['cbc', 'legacy']).default('cbc'),
  sources: addresses.default(null),
  restrict: portList.optional(),
  max_for: duration('max_for').default(SPA_DEFAULTS.maxTimeoutMs),
  require_source: z.boolean().default(true),
  max_age: duration('max_age').default(SPA_DEFAULTS.maxAgeMs),
  usernames: z.array(z.string().min(1)).min(1).optional(),
});

export const spaDoorSchema = z
  .strictObject({
    spa: spaSettings,
    ...doorBaseFields(SPA_DEFAULTS.forMs),
    // access.conf without OPEN_PORTS: any port may be asked for; these are the ones hidden
    hide: portList.optional(),
  })
  .superRefine((d, ctx) => {
    if (!d.spa.keys && !d.users)
      ctx.addIssue({
        code: 'custom',
        path: ['spa', 'keys'],
        message:
          'an spa door needs `keys` (fwknop packets: `sesame token --spa-keys`) or `users:` (packets signed with their own keys)',
      });
    if (d.users && !d.open?.length)
      ctx.addIssue({
        code: 'custom',
        path: ['open'],
        message: 'an spa door with `users:` needs `open`: the ports a signed packet may ask for',
      });
    if (d.open?.length && d.hide)
      ctx.addIssue({
        code: 'custom',
        path: ['hide'],
        message: '`hide` is for doors without `open` (any port may be asked for); with `open` those are hidden',
      });
    else if (!d.open?.length && !d.hide?.length)
      ctx.addIssue({
        code: 'custom',
        path: ['open'],
        message:
          'an spa door needs `open` (the ports a packet may ask for, hidden from everyone else) or `hide` (any port may be asked for, these are hidden)',
      });
  });

/**
 * fwknop-compatible single packet authorization, one access.conf stanza in YAML:
 * `spa: {keys: /etc/sesame/spa.keys}` with `open` as OPEN_PORTS and `for` as FW_ACCESS_TIMEOUT;
 * `hide` instead of `open` is a stanza without OPEN_PORTS (any port, these ports hidden).
 */
export const spaKind: DoorKind = {
  key: 'spa',
  schema: spaDoorSchema,
  pathFields: [['spa', 'keys']],
  secretFields: [['spa', 'keys']],
  build(name, d: z.infer<typeof spaDoorSchema>, defaults): SpaDoor {
    const anyPort = !d.open?.length;
    return {
      kind: 'spa',
      ...doorBase(name, d, defaults),
      ...(anyPort ? { open: d.hide ?? [] } : {}),
      spa: {
        sources: d.spa.sources,
        destinations: null,
        key: d.spa.keys
          ? {
              key: d.spa.keys.pair.key,
              hmacKey: d.spa.keys.pair.hmacKey,
              hmacType: d.spa.hmac,
              legacy: d.spa.mode === 'legacy',
            }
          : null,
        openPorts: anyPort ? null : (d.open ?? []),
        restrictPorts: d.spa.restrict ?? [],
        maxTimeoutMs: d.spa.max_for,
        requireSource: d.spa.require_source,
        usernames: d.spa.usernames ?? null,
        expiresAtMs: d.spa.expires ?? null,
        maxAgeMs: d.spa.max_age,
        origin: `door ${name}`,
      },
    };
  },
};
