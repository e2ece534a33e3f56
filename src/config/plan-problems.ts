import type { Door } from '../core/door.js';
import { formatPort } from '../core/door.js';
import type { NameCollision } from '../core/name-collisions.js';
import type { ConfigProblem } from './config-error.js';
import type { InterfaceCheck } from './host-interfaces.js';
import type { ConfigInput } from './schema.js';

/**
 * What a config can get wrong across its doors, each a problem at the line it names: a knock
 * port another door protects, too many doors, kernel names two doors would share, http doors
 * without the endpoint or on one path, interfaces the host lacks. Pure.
 */

/** Where a problem is: the config path, turned into file:line by the loader. */
export type At = (path: readonly PropertyKey[], message: string) => ConfigProblem;

/** Rules that span doors: a port can't be a knock port of one door and protected by another. */
export function crossDoorProblems(doors: readonly Door[], at: At): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const protectedBy = new Map<string, string>();
  for (const door of doors) for (const p of door.open) protectedBy.set(formatPort(p), door.name);
  for (const door of doors) {
    if (door.kind !== 'sequence') continue;
    const sequences = [['knock', door.knock] as const, ...(door.close ? [['close', door.close] as const] : [])];
    for (const [field, seq] of sequences) {
      seq.ports.forEach((p, i) => {
        const owner = protectedBy.get(formatPort(p));
        if (owner) {
          problems.push(
            at(
              ['doors', door.name, field, i],
              `port ${formatPort(p)} is opened by door "${owner}"; a knock port must not be a protected port`,
            ),
          );
        }
      });
    }
  }
  return problems;
}

/**
 * Doors in one config. Every door adds sets and rules to one nft transaction, and nft's time
 * grows faster than the ruleset: 1,000 two-port doors took 15 s to load and 2,000 took 65 s on
 * a 2-CPU host, and 10,000 made nft abort ("double free or corruption") after 3 minutes and
 * 1 GB. Every reload and one-time swap loads the whole table again.
 */
export const MAX_DOORS = 1000;

export function tooManyDoors(count: number): string {
  return `${count} doors; at most ${MAX_DOORS} fit in one ruleset (nft takes ~15 s for 1,000 and crashes on 10,000): merge doors that open the same ports, or use an http/spa door for many users`;
}

/** Two doors whose kernel objects would be one: say which, and what to do. */
export function collisionMessage(c: NameCollision): string {
  const other = c.first === 'sesame' ? "sesame's own" : `door "${c.first}"'s`;
  return `door "${c.second}" would share ${c.space} ${c.name} with ${other}; rename one of them`;
}

/**
 * `http` doors need the top-level endpoint, two secret paths can't be the same, and an OIDC
 * door needs TLS on the endpoint (the provider sends the browser back with a one-time code, and
 * the sign-in cookie is Secure).
 */
export function httpProblems(
  doors: readonly Door[],
  endpoint: { readonly tls: boolean } | undefined,
  at: At,
): ConfigProblem[] {
  const hasEndpoint = endpoint !== undefined;
  const problems: ConfigProblem[] = [];
  const paths = new Map<string, string>();
  for (const door of doors) {
    if (door.kind !== 'http') continue;
    if (!hasEndpoint) {
      problems.push(
        at(
          ['doors', door.name, 'http'],
          'an http door needs the top-level `http:` endpoint, e.g. `http: {listen: 0.0.0.0:8443}`',
        ),
      );
    }
    if (door.http.oidc && endpoint && !endpoint.tls)
      problems.push(
        at(
          ['doors', door.name, 'http', 'oidc'],
          'OIDC sign-in needs TLS on the endpoint: `http: {listen: ..., tls: {cert: FILE, key: FILE}}`',
        ),
      );
    const path = door.http.path;
    if (path && paths.has(path))
      problems.push(at(['doors', door.name, 'http', 'path'], `door "${paths.get(path)}" already uses this path`));
    if (path) paths.set(path, door.name);
  }
  return problems;
}

/**
 * An interface this host lacks would leave a door that never opens (its knocks are matched on
 * that interface only), so it is a load error at the line that names it.
 */
export function interfaceProblems(cfg: ConfigInput, check: InterfaceCheck, at: At): ConfigProblem[] {
  const named: { path: PropertyKey[]; name: string }[] = [];
  if (cfg.interface) named.push({ path: ['interface'], name: cfg.interface });
  for (const [door, raw] of Object.entries(cfg.doors)) {
    const name = (raw as { interface?: unknown }).interface;
    if (typeof name === 'string') named.push({ path: ['doors', door, 'interface'], name });
  }
  return named.flatMap((n) => {
    const problem = check(n.name);
    return problem === null ? [] : [at(n.path, problem)];
  });
}

/**
 * Door kinds whose knocks can name a user and be checked against that user's own keys. On
 * any other kind `users:` would be a promise nothing keeps, so it is refused.
 */
export const USER_DOOR_KINDS: readonly Door['kind'][] = ['http', 'spa'];

export function userDoorProblems(doors: readonly Door[], at: At): ConfigProblem[] {
  return doors
    .filter((d) => d.users && !USER_DOOR_KINDS.includes(d.kind))
    .map((d) =>
      at(
        ['doors', d.name, 'users'],
        `a ${d.kind} door's knock names no user; \`users:\` is for ${USER_DOOR_KINDS.join(', ')} doors`,
      ),
    );
}
