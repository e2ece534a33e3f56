import type { z } from 'zod';
import type { Door } from '../../core/door.js';

/**
 * A door's kind is told by the key only that kind has (`knock`, `hits`, `http`, ...).
 * Each kind brings its schema and turns its validated input into a `Door`.
 */
export interface DoorKind {
  readonly key: string;
  readonly schema: z.ZodType;
  /** Fields holding file paths (e.g. `['http', 'secret']`): relative ones are read from the config's folder. */
  readonly pathFields?: readonly (readonly string[])[];
  /** Path fields that hold secrets: refused at load when group or others can read them. */
  readonly secretFields?: readonly (readonly string[])[];
  // `any`: each kind narrows its own validated input type
  build(name: string, input: any, defaults: { interface?: string }): Door;
}
