import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { isUserName, USER_NAME_RULE, type User, type UsersPlan } from '../core/users.js';
import { ConfigError, type ConfigProblem, formatPath } from './config-error.js';
import { secretFileTooOpen } from './secret-file.js';
import { USER_PATH_FIELDS, USER_SECRET_FIELDS, usersFileSchema, type UserInput } from './users-schema.js';
import { issues, locate } from './yaml-problems.js';

/** Where `users:` points when sesame.yaml doesn't say. */
export const DEFAULT_USERS_FILE = '/etc/sesame/users.yaml';

export interface UsersLoadOptions {
  /** Key files group or others can read: refused (default), or passed to `warn`. */
  readonly readableSecrets?: 'refuse' | 'warn';
  readonly warn?: (problem: ConfigProblem) => void;
}

/**
 * Reads the users file, or every `*.yaml`/`*.yml` of a users.d folder (in name order), and
 * validates every user and credential. Throws ConfigError listing every problem at
 * file:line:column; a user named in two files is a problem at the second.
 */
export function loadUsers(path: string, opts: UsersLoadOptions = {}): UsersPlan {
  const files = usersFiles(path);
  const problems: ConfigProblem[] = [];
  const users: User[] = [];
  const seen = new Map<string, User>();
  for (const file of files) {
    const r = parseUsersText(readText(file), file, opts);
    problems.push(...r.problems);
    for (const u of r.users) {
      const first = seen.get(u.name);
      if (first) {
        problems.push({
          file,
          line: u.source.line,
          column: 3,
          field: `users.${u.name}`,
          message: `user "${u.name}" is also in ${first.source.file}:${first.source.line}`,
        });
        continue;
      }
      seen.set(u.name, u);
      users.push(u);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { path, users };
}

/** The files a users path stands for: itself, or a folder's YAML files. */
export function usersFiles(path: string): string[] {
  let dir = false;
  try {
    dir = statSync(path).isDirectory();
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? 'users file not found' : `cannot read (${code ?? cause})`;
    throw new ConfigError([{ file: path, line: 0, column: 0, field: '', message }]);
  }
  if (!dir) return [path];
  return readdirSync(path)
    .filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.'))
    .sort()
    .map((n) => join(path, n));
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new ConfigError([{ file, line: 0, column: 0, field: '', message: `cannot read (${code ?? cause})` }]);
  }
}

/**
 * Validates users file text. Paths in it are taken from `file`'s folder. Returns the users
 * and the problems (both: a good user next to a bad one is still reported as good).
 */
export function parseUsersText(
  text: string,
  file: string,
  opts: UsersLoadOptions = {},
): { users: User[]; problems: ConfigProblem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (path: readonly PropertyKey[], message: string, atKey = false): ConfigProblem => {
    const { line, col } = locate(doc, lines, path, atKey);
    return { file, line, column: col, field: formatPath(path), message };
  };
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const pos = lines.linePos(e.pos[0]);
      return { file, line: pos.line, column: pos.col, field: '', message: e.message.split('\n')[0] };
    });
    return { users: [], problems };
  }
  const input = (doc.toJS({ maxAliasCount: 100 }) ?? {}) as Record<string, unknown>;
  const problems: ConfigProblem[] = [];
  const writable = fileWritableByOthers(file);
  if (writable) problems.push({ file, line: 0, column: 0, field: '', message: writable });
  const raw = input.users;
  if (raw && typeof raw === 'object') {
    for (const entry of Object.values(raw)) resolvePaths(entry, dirname(file));
  }
  // each user alone, so one bad entry doesn't hide the others' problems
  const top = usersFileSchema.safeParse({ ...input, users: {} });
  if (!top.success) problems.push(...issues(top.error, [], at));
  const users: User[] = [];
  for (const [name, entry] of Object.entries(raw && typeof raw === 'object' ? raw : {})) {
    if (!isUserName(name)) {
      problems.push(at(['users', name], `user names are ${USER_NAME_RULE}, got ${JSON.stringify(name)}`, true));
      continue;
    }
    const r = usersFileSchema.safeParse({ users: { [name]: entry } });
    if (!r.success) {
      problems.push(...issues(r.error, [], at));
      continue;
    }
    const u = r.data.users[name];
    for (const field of USER_SECRET_FIELDS) {
      const why = u[field] ? secretFileTooOpen(u[field].file) : null;
      if (!why) continue;
      const p = at(['users', name, field], why);
      if (opts.readableSecrets === 'warn') opts.warn?.(p);
      else problems.push(p);
    }
    users.push(toUser(name, u, file, keyLine(doc, lines, name)));
  }
  return { users, problems };
}

function toUser(name: string, u: UserInput, file: string, line: number): User {
  return {
    name,
    groups: u.groups,
    revoked: u.revoked,
    ...(u.totp_secret_file ? { totp: u.totp_secret_file } : {}),
    ...(u.hmac_key_file ? { hmac: u.hmac_key_file } : {}),
    spaKeys: u.spa_keys,
    sshKeys: u.ssh_keys,
    ...(u.authorized_keys ? { authorizedKeys: u.authorized_keys } : {}),
    ...(u.oidc ? { oidc: u.oidc } : {}),
    source: { file, line },
  };
}

/** The line of `users.NAME`'s key. */
function keyLine(doc: ReturnType<typeof parseDocument>, lines: LineCounter, name: string): number {
  const users = isMap(doc.contents) ? doc.contents.get('users', true) : undefined;
  if (!isMap(users)) return 0;
  const pair = users.items.find((p) => isScalar(p.key) && String(p.key.value) === name);
  const offset = (pair?.key as { range?: [number] } | undefined)?.range?.[0];
  return offset === undefined ? 0 : lines.linePos(offset).line;
}

function resolvePaths(entry: unknown, base: string): void {
  if (!entry || typeof entry !== 'object') return;
  const e = entry as Record<string, unknown>;
  for (const field of USER_PATH_FIELDS) if (typeof e[field] === 'string') e[field] = resolve(base, e[field]);
}

/**
 * Whoever can write the users file can add themselves with a key of their own, so a file (or
 * folder) that group or others may write is refused, as the state folder is.
 */
function fileWritableByOthers(file: string): string | null {
  for (const p of [file, dirname(file)]) {
    let mode: number;
    try {
      mode = statSync(p).mode;
    } catch {
      continue;
    }
    // a sticky world-writable folder (/tmp) still lets no one replace another's file
    if (p !== file && mode & 0o1000) continue;
    if (mode & 0o022)
      return `${p} is writable by group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}), so anyone could add a user; run \`chmod go-w ${p}\``;
  }
  return null;
}
