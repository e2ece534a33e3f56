import { isIP } from 'node:net';
import { z } from 'zod';
import type { Door, SpaListen } from '../core/door.js';
import { SPA_DEFAULTS } from '../core/spa/policy.js';

const port = z.union([z.literal(false), z.number().int().min(1).max(65535)]);

/**
 * Top-level `spa:`: where SPA packets are received (fwknop's `-P udp|tcp|http`).
 * UDP 62201 (fwknop's default) unless set; TCP and HTTP are off unless given a port.
 */
export const spaListenSchema = z.strictObject({
  listen: z
    .string()
    .refine((h) => isIP(h) !== 0, 'expected an address to bind, like 198.18.0.1 or ::')
    .optional(),
  udp: port.default(SPA_DEFAULTS.udpPort),
  tcp: port.default(false),
  http: port.default(false),
});

/** The listeners of a plan with `spa` doors; undefined when it has none. */
export function spaListen(
  doors: readonly Door[],
  cfg: z.infer<typeof spaListenSchema> | undefined,
): SpaListen | undefined {
  if (!doors.some((d) => d.kind === 'spa')) return undefined;
  const c = cfg ?? spaListenSchema.parse({});
  const on = (p: number | false) => (p === false ? null : p);
  return { ...(c.listen ? { host: c.listen } : {}), udp: on(c.udp), tcp: on(c.tcp), http: on(c.http) };
}
