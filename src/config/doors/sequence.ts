import type { z } from 'zod';
import { oneTimeDoor } from '../one-time-file.js';
import { DEFAULT_FLAGS, sequenceDoorSchema } from '../schema.js';
import type { DoorKind } from './kind.js';

/** knockd-style port sequences: `knock: [6000, 7000, 8000, 9000]`. */
export const sequenceKind: DoorKind = {
  key: 'knock',
  schema: sequenceDoorSchema,
  pathFields: [['knock', 'one_time']],
  build(name, d: z.infer<typeof sequenceDoorSchema>, defaults) {
    const flags = d.flags ?? DEFAULT_FLAGS;
    if (!Array.isArray(d.knock)) {
      // `knock: {one_time: FILE}`: the file's active line, swapped by the daemon after each use
      const base = {
        name,
        open: d.open ?? [],
        forMs: d.for,
        reply: d.reply,
        interface: d.interface ?? defaults.interface,
        run: d.run,
      };
      return oneTimeDoor({ ...base, file: d.knock.one_time.file, flags, withinMs: d.within }, d.knock.one_time.active);
    }
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
