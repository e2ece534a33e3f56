import type { z } from 'zod';
import type { Door } from '../core/door.js';
import { DEFAULT_FLAGS, sequenceDoorSchema } from './schema.js';

/**
 * A door's kind is told by the key that only that kind has (`knock`, `hits`, `http`, ...).
 * Each kind brings its schema and turns its validated input into a `Door`.
 */
export interface DoorKind {
  readonly key: string;
  readonly schema: z.ZodType;
  build(name: string, input: any, defaults: { interface?: string }): Door;
}

const sequenceKind: DoorKind = {
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

export const DOOR_KINDS: DoorKind[] = [sequenceKind];
