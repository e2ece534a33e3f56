import { z } from 'zod';
import type { Door, PortSpec, Reply, RunCommands } from '../../core/door.js';
import { USER_NAME_PATTERN } from '../../core/users.js';
import { doorFleetSchema, duration, interfaceSchema, portList, replySchema, runSchema } from '../schema.js';

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
  build(name: string, input: any, defaults: DoorDefaults): Door;
  /** What loads but is weak (a log door's unanchored regex): warned at `path` under the door, never refused. */
  warnings?(input: any): readonly DoorWarning[];
}

/** A weakness of a valid door, located by its field path under `doors.NAME`. */
export interface DoorWarning {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** Top-level settings a door takes when it doesn't set its own. */
export interface DoorDefaults {
  readonly interface?: string;
  readonly trusted_interfaces?: readonly string[];
}

/** `users: [alice, "@admins"]`: who may knock on the door with their own credentials (users file). */
const doorUsers = z
  .array(z.string().regex(new RegExp(`^@?${USER_NAME_PATTERN}$`), 'expected a user name or @group'))
  .min(1, 'expected at least one user or @group (or leave `users` out)');

/** The fields every door kind shares in sesame.yaml: what opens, for how long, how others are answered. */
export const doorBaseFields = (defaultForMs: number) => ({
  open: portList.optional(),
  for: duration('for').default(defaultForMs),
  reply: replySchema,
  interface: interfaceSchema.optional(),
  trusted_interfaces: z.array(interfaceSchema).optional(),
  run: runSchema.optional(),
  fleet: doorFleetSchema,
  users: doorUsers.optional(),
});

/** What `doorBaseFields` validated, as each kind's schema hands it over. */
export interface DoorBaseInput {
  readonly open?: readonly PortSpec[];
  readonly for: number;
  readonly reply: Reply;
  readonly interface?: string;
  readonly trusted_interfaces?: readonly string[];
  readonly run?: RunCommands;
  readonly fleet?: boolean;
  readonly users?: readonly string[];
}

/**
 * The base fields of a built door, in one place for every kind. `open` defaults to
 * `defaultOpen` (a kind whose knock port is the service port opens that port).
 */
export function doorBase(
  name: string,
  d: DoorBaseInput,
  defaults: DoorDefaults,
  defaultOpen: readonly PortSpec[] = [],
) {
  return {
    name,
    open: d.open ?? defaultOpen,
    forMs: d.for,
    reply: d.reply,
    interface: d.interface ?? defaults.interface,
    ...trusted(d.trusted_interfaces ?? defaults.trusted_interfaces),
    run: d.run,
    // only `fleet: false` is kept: a door's grants are shared by default when `fleet` is set
    ...(d.fleet === false ? { fleet: false } : {}),
    ...(d.users ? { users: [...new Set(d.users)] } : {}),
  };
}

// an empty list is the same as none, so rulesets and goldens don't change for it
const trusted = (names: readonly string[] | undefined) => (names?.length ? { trustedInterfaces: names } : {});

/** A door that grants needs ports to open, a command to run, or both. */
export function needsOpenOrRun(
  d: { open?: unknown[]; run?: { start?: string }; log_only?: boolean },
  ctx: z.RefinementCtx,
): void {
  if (d.log_only) {
    if (d.open?.length || d.run?.start)
      ctx.addIssue({
        code: 'custom',
        path: ['log_only'],
        message: '`log_only` is for a door with no `open` and no `run`',
      });
    return;
  }
  if (!d.open?.length && !d.run?.start) {
    ctx.addIssue({
      code: 'custom',
      message: 'a door needs `open` ports, a `run.start` command, or both (or `log_only: true` to only log its knocks)',
    });
  }
}
