import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { Door, Plan } from '../core/door.js';
import type { FleetSettings } from '../core/fleet-settings.js';
import { nameCollisions } from '../core/name-collisions.js';
import { ConfigError, type ConfigProblem, formatPath, formatProblem } from './config-error.js';
import { DOOR_KINDS } from './doors/index.js';
import { FLEET_PATH_FIELDS, fleetSchema, fleetSettings } from './fleet-schema.js';
import { configSchema } from './schema.js';
import {
  collisionMessage,
  crossDoorProblems,
  httpProblems,
  interfaceProblems,
  MAX_DOORS,
  tooManyDoors,
  userDoorProblems,
} from './plan-problems.js';
import { spaListen } from './spa-listen.js';
import { secretFileTooOpen } from './secret-file.js';
import { hostInterface, type InterfaceCheck } from './host-interfaces.js';
import { issues, locate } from './yaml-problems.js';
import { DEFAULT_USERS_FILE, loadUsers } from './users-file.js';
import type { UsersPlan } from '../core/users.js';

export interface LoadOptions {
  /**
   * Secret files that group or others can read: refused (the default), or accepted with each
   * one passed to `warn` (`serve --allow-readable-secrets`).
   */
  readonly readableSecrets?: 'refuse' | 'warn';
  readonly warn?: (problem: ConfigProblem) => void;
  /**
   * How `interface:` names are checked (default: against this host's interfaces). Commands
   * that read a config on a client host (`knock`, `token`) pass `anyInterface`.
   */
  readonly checkInterface?: InterfaceCheck;
}

/** Reads and validates a sesame.yaml file. Throws ConfigError listing every problem. */
export function loadConfigFile(file: string, opts: LoadOptions = {}): Plan {
  return parseConfig(readConfigText(file), file, opts);
}

/** Reads a config file; a missing or unreadable file is a ConfigError like any other problem. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String(cause);
    throw new ConfigError([{ file, line: 0, column: 0, field: '', message: reason }]);
  }
}

/**
 * Validates config text. `file` names it in messages, and relative file paths in it
 * (secrets, logs, sequence files) are taken from `file`'s folder, as a user would expect.
 */
export function parseConfig(text: string, file = 'sesame.yaml', opts: LoadOptions = {}): Plan {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (path: readonly PropertyKey[], message: string, atKey = false): ConfigProblem => {
    const { line, col } = locate(doc, lines, path, atKey);
    return { file, line, column: col, field: formatPath(path), message };
  };
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { file, line: pos.line, column: pos.col, field: '', message: e.message.split('\n')[0] };
      }),
    );
  }
  const input = expandAliases(doc, lines, file) ?? {};
  resolvePathFields(input, dirname(file));
  const top = configSchema.safeParse(input);
  if (!top.success) throw new ConfigError(issues(top.error, [], at));
  const cfg = top.data;

  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];
  const doors: Door[] = [];
  for (const [name, raw] of Object.entries(cfg.doors)) {
    const kinds = DOOR_KINDS.filter((k) => k.key in raw);
    if (kinds.length !== 1) {
      const keys = DOOR_KINDS.map((k) => k.key).join(', ');
      problems.push(
        at(
          ['doors', name],
          kinds.length === 0
            ? `a door needs exactly one of: ${keys}`
            : `a door can't have both ${kinds.map((k) => k.key).join(' and ')}`,
        ),
      );
      continue;
    }
    const result = kinds[0].schema.safeParse(raw);
    if (!result.success) {
      problems.push(...issues(result.error, ['doors', name], at));
      continue;
    }
    doors.push(
      kinds[0].build(name, result.data, { interface: cfg.interface, trusted_interfaces: cfg.trusted_interfaces }),
    );
    for (const w of kinds[0].warnings?.(result.data) ?? [])
      warnings.push(formatProblem(at(['doors', name, ...w.path], w.message)));
  }
  const users = loadDoorUsers(cfg.users, doors, opts, problems, (message) =>
    at(cfg.users !== undefined ? ['users'] : ['doors', doors.find((d) => d.users)?.name ?? '', 'users'], message),
  );
  problems.push(...userDoorProblems(doors, at));
  const fleet = parseFleet(cfg.fleet, at);
  if (Array.isArray(fleet)) problems.push(...fleet);
  problems.push(...crossDoorProblems(doors, at));
  if (Object.keys(cfg.doors).length > MAX_DOORS)
    problems.push(at(['doors'], tooManyDoors(Object.keys(cfg.doors).length)));
  for (const c of nameCollisions(doors)) problems.push(at(['doors', c.second], collisionMessage(c), true));
  problems.push(...httpProblems(doors, cfg.http && { tls: cfg.http.tls !== undefined }, at));
  problems.push(...interfaceProblems(cfg, opts.checkInterface ?? hostInterface, at));
  for (const p of secretFileProblems(input, at)) {
    if (opts.readableSecrets === 'warn') opts.warn?.(p);
    else problems.push(p);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return Object.freeze({
    doors,
    nflogGroup: cfg.nflog_group,
    setSize: cfg.set_size,
    scanGuard: cfg.scan_guard === false ? null : cfg.scan_guard,
    logFormat: cfg.log?.format,
    ...(cfg.grant_mark ? { grantMark: cfg.grant_mark } : {}),
    ...(cfg.metrics ? { metrics: { listen: cfg.metrics.listen } } : {}),
    ...(spaListen(doors, cfg.spa) ? { spaListen: spaListen(doors, cfg.spa) } : {}),
    ...(fleet && !Array.isArray(fleet) ? { fleet } : {}),
    ...(users ? { users } : {}),
    http: cfg.http && {
      listen: cfg.http.listen,
      tls: cfg.http.tls,
      trustedProxies: cfg.http.trusted_proxies,
      rateLimit:
        cfg.http.rate_limit === false
          ? null
          : { attempts: cfg.http.rate_limit.attempts, perMs: cfg.http.rate_limit.per },
      wrongCodePrefix: cfg.http.wrong_code_prefix,
    },
    ...(warnings.length > 0 ? { warnings } : {}),
    source: file,
  });
}

/** Secret files outside doors: the TLS private key, the fleet key and password. */
const TOP_SECRET_FIELDS = [
  ['http', 'tls', 'key'],
  ['fleet', 'key'],
  ['fleet', 'password_file'],
] as const;

/**
 * A YAML alias may expand into many copies of its anchor ("billion laughs": 9 levels of 9
 * aliases is 387 million strings). The yaml library stops past 100 alias expansions; that
 * becomes a config error at the first alias instead of a stack trace.
 */
function expandAliases(doc: Document, lines: LineCounter, file: string): Record<string, unknown> | null {
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    let line = 0;
    let column = 0;
    visit(doc, {
      Alias(_, node) {
        if (node.range) ({ line, col: column } = lines.linePos(node.range[0]));
        return visit.BREAK;
      },
    });
    throw new ConfigError([
      {
        file,
        line,
        column,
        field: '',
        message: `YAML aliases expand too much (${err.message.toLowerCase()}); write the values out instead of nesting aliases`,
      },
    ]);
  }
}

/** Secret files that group or others can read or write, each at its field. */
function secretFileProblems(
  input: Record<string, unknown>,
  at: (path: readonly PropertyKey[], message: string) => ConfigProblem,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const check = (obj: unknown, path: readonly string[], where: readonly string[]) => {
    const value = path.reduce<unknown>(
      (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
      obj,
    );
    const why = typeof value === 'string' ? secretFileTooOpen(value) : null;
    if (why) problems.push(at([...where, ...path], why));
  };
  for (const path of TOP_SECRET_FIELDS) check(input, path, []);
  const doors = input.doors;
  if (doors && typeof doors === 'object') {
    for (const [name, door] of Object.entries(doors)) {
      if (!door || typeof door !== 'object') continue;
      for (const kind of DOOR_KINDS.filter((k) => k.key in door))
        for (const path of kind.secretFields ?? []) check(door, path, ['doors', name]);
    }
  }
  return problems;
}

const TOP_PATH_FIELDS = [['users'], ['http', 'tls', 'cert'], ['http', 'tls', 'key'], ...FLEET_PATH_FIELDS] as const;

/**
 * The users file: the one `users:` names, or the default when a door names users and the
 * config doesn't say where they are. None when neither (a config without users reads nothing).
 * Its problems join the config's, each at its own file and line.
 */
function loadDoorUsers(
  path: string | undefined,
  doors: readonly Door[],
  opts: LoadOptions,
  problems: ConfigProblem[],
  here: (message: string) => ConfigProblem,
): UsersPlan | undefined {
  const file = path ?? (doors.some((d) => d.users) ? DEFAULT_USERS_FILE : undefined);
  if (file === undefined) return undefined;
  if (!existsSync(file)) {
    problems.push(here(`users file ${file} not found; make it with \`sesame users add NAME\``));
    return undefined;
  }
  try {
    return loadUsers(file, { readableSecrets: opts.readableSecrets, warn: opts.warn });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
    return undefined;
  }
}

/** Top-level `fleet:`: settings, or the problems found (placed under `fleet.`). */
function parseFleet(
  raw: unknown,
  at: (path: readonly PropertyKey[], message: string, atKey?: boolean) => ConfigProblem,
): FleetSettings | ConfigProblem[] | undefined {
  if (raw === undefined) return undefined;
  const r = fleetSchema.safeParse(raw);
  if (!r.success) return issues(r.error, ['fleet'], at);
  const settings = fleetSettings(r.data);
  return typeof settings === 'string' ? [at(['fleet'], settings)] : settings;
}

/** Makes relative paths in known file fields absolute against `base`, before validation. */
function resolvePathFields(input: Record<string, unknown>, base: string): void {
  const fix = (obj: unknown, path: readonly string[]) => {
    const parent = path
      .slice(0, -1)
      .reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
    const key = path[path.length - 1];
    if (parent && typeof parent === 'object' && typeof (parent as Record<string, unknown>)[key] === 'string') {
      (parent as Record<string, string>)[key] = resolve(base, (parent as Record<string, string>)[key]);
    }
  };
  for (const path of TOP_PATH_FIELDS) fix(input, path);
  const doors = input.doors;
  if (!doors || typeof doors !== 'object') return;
  for (const door of Object.values(doors)) {
    if (!door || typeof door !== 'object') continue;
    for (const kind of DOOR_KINDS.filter((k) => k.key in door))
      for (const path of kind.pathFields ?? []) fix(door, path);
  }
}
