import { mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readSecretFile, readSecretText } from '../../config/secret-file.js';
import { formatPort, type HttpDoor } from '../../core/door.js';
import type { ReplaySnapshot } from '../../core/expiring-keys.js';
import { JournalReplayCache } from '../replay/journal-replay-cache.js';
import type { DoorSource, SourceFactory } from '../door-source.js';
import { KnockEndpoint } from './endpoint.js';
import { OidcSignIn } from './oidc-sign-in.js';
import { TokenVerifier } from './verifier.js';
import { WrongCodeBudget } from './wrong-code-budget.js';
import { SesameError } from '../../core/sesame-error.js';

/** Names the config field in a start failure, so the message says what to fix. */
export class HttpEndpointError extends SesameError {
  static override readonly code = 'E_HTTP';
  override readonly name = 'HttpEndpointError';
}

function readTls(file: string, field: string): Buffer {
  try {
    return readFileSync(file);
  } catch (cause) {
    throw new HttpEndpointError(
      `http.tls.${field} ${file}: cannot read (${(cause as NodeJS.ErrnoException).code ?? cause})`,
      { cause },
    );
  }
}

/**
 * Used tokens survive `kill -9` and restarts: the replay journal in the state dir. The
 * snapshot file of earlier versions (rewritten whole on every used token) is taken over once.
 */
function openReplay(stateDir: string, warn: (event: string, fields: Record<string, unknown>) => void) {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const journal = JournalReplayCache.open(join(stateDir, 'replay-http.journal'), { warn });
  const legacy = join(stateDir, 'http-replay.json');
  let old: ReplaySnapshot | undefined;
  try {
    old = JSON.parse(readFileSync(legacy, 'utf8')) as ReplaySnapshot;
  } catch {
    return journal; // none (or unreadable: it was only ever a best-effort snapshot)
  }
  const now = Date.now();
  for (const [key, expires] of old.used ?? []) if (expires > now) journal.use(key, expires - now);
  unlinkSync(legacy);
  return journal;
}

/**
 * The HTTP knock endpoint as a door source. One endpoint serves every `http` door, so the
 * first http door's source runs it and the others return null.
 */
export const httpKnockSource: SourceFactory = async (door, ctx) => {
  const doors = ctx.plan.doors.filter((d): d is HttpDoor => d.kind === 'http');
  if (door.kind !== 'http' || doors[0] !== door || !ctx.plan.http) return null;
  const endpoint = ctx.plan.http;

  const tokenDoors = doors
    .filter((d) => d.http.tokens.length > 0 && d.http.secretFile)
    .map((d) => ({ name: d.name, tokens: d.http.tokens, key: readSecretFile(d.http.secretFile as string) }));
  const local = openReplay(ctx.stateDir, (event, fields) => ctx.logger.log('warn', event, fields));
  // fleet mode: a token used on any node is refused on all
  const replay = ctx.sharedReplay?.(local) ?? local;
  const verifier = new TokenVerifier(tokenDoors, replay, new WrongCodeBudget(endpoint.wrongCodePrefix));
  const byName = new Map(doors.map((d) => [d.name, d]));
  const oidcDoors = doors.flatMap((d) =>
    d.http.oidc
      ? [{ name: d.name, settings: d.http.oidc, clientSecret: readSecretText(d.http.oidc.clientSecretFile) }]
      : [],
  );

  const server = new KnockEndpoint({
    endpoint,
    verifier,
    pathDoors: doors.filter((d) => d.http.path).map((d) => ({ name: d.name, path: d.http.path as string })),
    numericCodes: tokenDoors.length > 0 && tokenDoors.every((d) => d.tokens.includes('totp')),
    tls: endpoint.tls && { cert: readTls(endpoint.tls.cert, 'cert'), key: readTls(endpoint.tls.key, 'key') },
    ...(oidcDoors.length ? { oidc: new OidcSignIn(oidcDoors) } : {}),
    log: (level, event, fields) => ctx.logger.log(level, event, fields),
    refused: (e) => ctx.refused({ source: 'http', ...e }),
    open: async (name, address, user) => {
      const d = byName.get(name) as HttpDoor;
      await ctx.grant(d, address, { via: user === undefined ? 'http' : 'oidc' });
      return { door: d.name, address, until: Date.now() + d.forMs, ports: d.open.map(formatPort) };
    },
  });
  let bound: { address: string; port: number };
  try {
    bound = await server.listen();
  } catch (cause) {
    replay.close();
    const { host, port } = endpoint.listen;
    throw new HttpEndpointError(`http.listen ${host}:${port}: ${(cause as Error).message}`, { cause });
  }
  ctx.logger.log('info', 'http-listening', {
    address: bound.address,
    port: bound.port,
    tls: Boolean(endpoint.tls),
    doors: doors.map((d) => d.name),
  });
  const source: DoorSource = {
    stop: async () => {
      await server.close();
      replay.close();
    },
  };
  return source;
};
