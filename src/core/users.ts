/**
 * The people who may knock, each with their own credentials (the users file, see
 * config/users-file.ts), and the pure directory the daemon and its sources ask: who is this
 * user, may they use this door, which keys do they hold, are they revoked. Plain frozen data;
 * no I/O.
 */

/** What a user name (and a group name) may be: it goes into tokens, log lines and fleet messages. */
export const USER_NAME_PATTERN = '[A-Za-z][A-Za-z0-9_.-]{0,31}';
export const USER_NAME = new RegExp(`^${USER_NAME_PATTERN}$`);
export const USER_NAME_RULE = '1-32 letters, digits, _, . or -, starting with a letter';
export const isUserName = (name: unknown): name is string => typeof name === 'string' && USER_NAME.test(name);

/** An OIDC identity: the issuer's subject, or a verified email claim (any issuer the door trusts). */
export interface OidcIdentity {
  readonly issuer?: string;
  readonly subject?: string;
  readonly email?: string;
}

/** One user of the users file, validated; key files already read. */
export interface User {
  readonly name: string;
  readonly groups: readonly string[];
  /** `revoked: true`: every credential refused, every grant ended (kept in the file for the record). */
  readonly revoked: boolean;
  /** The TOTP secret (from `totp_secret_file`), and where it came from. */
  readonly totp?: { readonly file: string; readonly key: Uint8Array };
  /** The HMAC token key (from `hmac_key_file`). */
  readonly hmac?: { readonly file: string; readonly key: Uint8Array };
  /** Raw 32-byte ed25519 public keys for SPA (`spa_keys`, base64 in the file). */
  readonly spaKeys: readonly Uint8Array[];
  /** OpenSSH public key lines (`ssh_keys`), checked for shape: `TYPE BASE64 [comment]`. */
  readonly sshKeys: readonly string[];
  /** An authorized_keys file whose keys also count (read again on every reload). */
  readonly authorizedKeys?: string;
  readonly oidc?: OidcIdentity;
  /** Where the user is written: `users.yaml:12`. */
  readonly source: { readonly file: string; readonly line: number };
}

/** The loaded users file (or users.d folder). */
export interface UsersPlan {
  /** The file or folder that was read. */
  readonly path: string;
  readonly users: readonly User[];
}

/** A door's `users:` entry: a user name, or `@group`. */
export const isGroupRef = (ref: string) => ref.startsWith('@');

/**
 * Lookups over the users of a plan, built once per loaded plan. A user missing from the file
 * is the same as a revoked one: nothing of theirs is accepted.
 */
export class UserDirectory {
  private readonly byName = new Map<string, User>();

  constructor(readonly plan: UsersPlan | undefined) {
    for (const u of plan?.users ?? []) this.byName.set(u.name, u);
  }

  /** Every user, revoked ones too, in file order. */
  get all(): readonly User[] {
    return this.plan?.users ?? [];
  }

  /** The user called `name`, revoked or not; undefined when the file has none. */
  get(name: string): User | undefined {
    return this.byName.get(name);
  }

  /** True when `name` may not knock at all: revoked, or not in the file. */
  revoked(name: string): boolean {
    const u = this.byName.get(name);
    return !u || u.revoked;
  }

  /** The active (not revoked) users named by a door's `users:` list, names and @groups. */
  members(refs: readonly string[] | undefined): User[] {
    if (!refs?.length) return [];
    const names = new Set(refs.filter((r) => !isGroupRef(r)));
    const groups = new Set(refs.filter(isGroupRef).map((r) => r.slice(1)));
    return this.all.filter((u) => !u.revoked && (names.has(u.name) || u.groups.some((g) => groups.has(g))));
  }

  /** Whether user `name` may use a door whose `users:` is `refs`. */
  mayUse(refs: readonly string[] | undefined, name: string): boolean {
    const u = this.byName.get(name);
    if (!u || u.revoked || !refs?.length) return false;
    return refs.some((r) => (isGroupRef(r) ? u.groups.includes(r.slice(1)) : r === u.name));
  }

  /** Every group some user is in. */
  groups(): Set<string> {
    return new Set(this.all.flatMap((u) => u.groups));
  }
}

/**
 * Users whose credentials a new plan no longer accepts: in `before` and active there, but
 * revoked or gone in `after`. The daemon ends their grants on reload.
 */
export function newlyRevoked(before: UsersPlan | undefined, after: UsersPlan | undefined): string[] {
  const next = new UserDirectory(after);
  return (before?.users ?? []).filter((u) => !u.revoked && next.revoked(u.name)).map((u) => u.name);
}

/**
 * A door's `users:` entries that match nobody: names the users file lacks (removed, or a typo)
 * and groups no user is in. Not a load error, since removing a user from the file must
 * reload and lock them out without editing every door; `check` and `serve` warn instead.
 */
export function unknownUserRefs(
  doors: readonly { readonly name: string; readonly users?: readonly string[] }[],
  users: UsersPlan | undefined,
): string[] {
  const dir = new UserDirectory(users);
  const groups = dir.groups();
  const out: string[] = [];
  for (const d of doors)
    for (const ref of d.users ?? []) {
      const known = isGroupRef(ref) ? groups.has(ref.slice(1)) : dir.get(ref) !== undefined;
      if (!known)
        out.push(
          `door "${d.name}" names ${isGroupRef(ref) ? `group ${ref.slice(1)}, which no user is in` : `user "${ref}", who is not in ${users?.path ?? 'the users file'}`}`,
        );
    }
  return out;
}
