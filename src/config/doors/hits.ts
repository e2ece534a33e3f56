import { z } from 'zod';
import type { HitDoor } from '../../core/door.js';
import { parsePortSpec } from '../../core/port-spec.js';
import { duration } from '../schema.js';
import { doorBase, doorBaseFields, type DoorKind } from './kind.js';

/**
 * Defaults chosen so a plain `ssh` gets in on its own SYN retries (docs/doors.md, "Single-port doors"):
 * Linux >= 6.6 retries at 1 s steps (SYNs at 0, 1, 2 s: the third is 2 s after the first),
 * older kernels and other systems back off (0, 1, 3 s: 3 s after). A window of 1-5 s takes
 * both with a second of margin on each side, in whole seconds so iptables `recent` can do it too.
 */
export const DEFAULT_HIT_COUNT = 2;
export const DEFAULT_HIT_WINDOW_MS: readonly [number, number] = [1000, 5000];

const tcpPort = z.unknown().transform((v, ctx): number => {
  const p = parsePortSpec(v);
  if (typeof p === 'string' || p.proto !== 'tcp') {
    const message = typeof p === 'string' ? p : 'hit counting needs TCP SYNs; expected a TCP port';
    ctx.addIssue({ code: 'custom', message, input: v });
    return z.NEVER;
  }
  return p.port;
});

const window = z
  .tuple([duration('window start', 0), duration('window end')])
  .refine(([start, end]) => end > start, { message: 'window end must be after window start, e.g. [1s, 5s]' });

// `hits: 22` is short for `hits: {port: 22}`
const hitsSchema = z.preprocess(
  (v) => (typeof v === 'number' || typeof v === 'string' ? { port: v } : v),
  z.strictObject({
    port: tcpPort,
    count: z.number().int().min(1).max(10).default(DEFAULT_HIT_COUNT),
    window: window.default([...DEFAULT_HIT_WINDOW_MS] as [number, number]),
  }),
);

export const hitDoorSchema = z.strictObject({
  hits: hitsSchema,
  ...doorBaseFields(60_000),
});

/** Single-port doors: `hits: 22` or `hits: {port: 22, count: 2, window: [1s, 5s]}`. */
export const hitsKind: DoorKind = {
  key: 'hits',
  schema: hitDoorSchema,
  build(name, d: z.infer<typeof hitDoorSchema>, defaults): HitDoor {
    const { port, count } = d.hits;
    const [start, end] = d.hits.window;
    return {
      kind: 'hits',
      // the knock port is the service port: by default the door opens just that
      ...doorBase(name, d, defaults, [{ port, proto: 'tcp' }]),
      hits: { port, count, windowMs: [start, end] },
    };
  },
};
