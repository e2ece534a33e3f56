import { z } from 'zod';
import { oneTimeDoor } from '../one-time-file.js';
import { DEFAULT_FLAGS, duration, flagsSchema, knockField, sequenceSchema } from '../schema.js';
import { doorBase, doorBaseFields, type DoorKind, needsOpenOrRun } from './kind.js';

export const sequenceDoorSchema = z
  .strictObject({
    knock: knockField,
    flags: flagsSchema.optional(),
    within: duration('within').default(45_000),
    close: sequenceSchema.optional(),
    /** A knockd door without commands: the knock is only logged. */
    log_only: z.literal(true).optional(),
    ...doorBaseFields(60_000),
  })
  .superRefine((d, ctx) => {
    needsOpenOrRun(d, ctx);
    if (d.close && !Array.isArray(d.knock)) {
      ctx.addIssue({
        code: 'custom',
        path: ['close'],
        message: 'a one-time door has no close sequence; its grants end after `for`',
      });
    }
  });

/** knockd-style port sequences: `knock: [6000, 7000, 8000, 9000]`. */
export const sequenceKind: DoorKind = {
  key: 'knock',
  schema: sequenceDoorSchema,
  pathFields: [['knock', 'one_time']],
  build(name, d: z.infer<typeof sequenceDoorSchema>, defaults) {
    const flags = d.flags ?? DEFAULT_FLAGS;
    const base = doorBase(name, d, defaults);
    if (!Array.isArray(d.knock)) {
      // `knock: {one_time: FILE}`: the file's active line, swapped by the daemon after each use
      return oneTimeDoor({ ...base, file: d.knock.one_time.file, flags, withinMs: d.within }, d.knock.one_time.active);
    }
    return {
      kind: 'sequence',
      ...base,
      knock: { ports: d.knock, flags, withinMs: d.within },
      close: d.close ? { ports: d.close, flags, withinMs: d.within } : undefined,
    };
  },
};
