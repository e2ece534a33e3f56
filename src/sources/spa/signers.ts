import { readFileSync } from 'node:fs';
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { LogFn } from '../../core/contracts.js';
import type { SignerKeys, Signers } from '../../core/spa/signed-admit.js';
import { parseSshKeyLine, type SshPublicKey } from '../../core/ssh/ssh-public-key.js';
import { type User, UserDirectory, type UsersPlan } from '../../core/users.js';

/**
 * The public keys of signed SPA packets, from the users file: `spa_keys` (ed25519), `ssh_keys`
 * and the keys of each user's `authorized_keys` file. The files are read when the source starts
 * (at every start and reload: a key removed from authorized_keys plus a reload is refused);
 * the KeyObjects are made on a user's first knock, so 10,000 users cost nothing at load.
 * A revoked user, or one the file lacks, has no keys.
 */
export function signersFromUsers(
  users: UsersPlan | undefined,
  log: LogFn,
  read: (file: string) => string = (f) => readFileSync(f, 'utf8'),
): Signers {
  const dir = new UserDirectory(users);
  const authorized = new Map<string, string[]>();
  for (const u of dir.all) {
    if (u.revoked || !u.authorizedKeys) continue;
    try {
      authorized.set(u.name, authorizedKeyLines(read(u.authorizedKeys)));
    } catch (err) {
      // fail closed: the user's authorized_keys keys count for nothing until it can be read
      log('warn', 'authorized-keys-unreadable', {
        user: u.name,
        file: u.authorizedKeys,
        reason: (err as Error).message,
      });
    }
  }
  const cache = new Map<string, SignerKeys>();
  return {
    keys(name) {
      if (dir.revoked(name)) return undefined;
      let k = cache.get(name);
      if (!k) {
        k = keysOf(dir.get(name)!, authorized.get(name) ?? [], log);
        cache.set(name, k);
      }
      return k;
    },
    mayUse: (door, name) => dir.mayUse(door.users, name),
  };
}

/** The key lines of an authorized_keys file (comments and blank lines left out). */
function authorizedKeyLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

function keysOf(u: User, authorized: readonly string[], log: LogFn): SignerKeys {
  const spa: KeyObject[] = u.spaKeys.map((raw) =>
    createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' }),
  );
  const ssh = new Map<string, SshPublicKey>();
  for (const line of [...u.sshKeys, ...authorized]) {
    const k = parseSshKeyLine(line);
    if (typeof k === 'string') {
      // a line sesame can't check (another key type, a damaged line) is one key less, not an error
      log('debug', 'ssh-key-skipped', { user: u.name, reason: k });
      continue;
    }
    ssh.set(k.blob.toString('base64'), k);
  }
  return { spa, ssh };
}
