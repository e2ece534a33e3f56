import type { z } from 'zod';
import { DEFAULT_FLAGS, sequenceDoorSchema } from '../schema.js';
import type { DoorKind } from './kind.js';

/** knockd-style port sequences: `knock: [6000, 7000, 8000, 9000]`. */
export const sequenceKind: DoorKind = {
  key: 'knock',
  schema: sequenceDoorSchema,
  build(name, d: z.infer<typeof sequenceDoorSchema>, defaults) {
    const flags = d.flags ?? DEFAULT_FLAGS;
    return {
      kind: 'sequence',
      name,
      knock: { ports: d.knock, flags, withinMs: d.within },
      close: d.close ? { ports: d.close, flags, withinMs: d.within } : undefined,
      open: d.open ?? [],
      forMs: d.for,
      reply: d.reply,
      interface: d.interface ?? defaults.interface,
      run: d.run,
    };
  },
};
