import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSecretFile } from '../../config/secret-file.js';
import { formatPort, type HttpDoor } from '../../core/door.js';
import { ReplayCache, type ReplaySnapshot } from '../../core/knock-token.js';
import type { DoorSource, SourceFactory } from '../../daemon/door-sources.js';
import { KnockEndpoint } from './endpoint.js';
import { TokenVerifier } from './verifier.js';

/** Names the config field in a start failure, so the message says what to fix. */
export class HttpEndpointError extends Error {
  override readonly name = 'HttpEndpointError';
  readonly code = 'E_HTTP';
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

/** Used tokens survive a restart, so a code seen just before it can't be replayed just after. */
function replayStore(stateDir: string) {
  const file = join(stateDir, 'http-replay.json');
  return {
    load(): ReplaySnapshot | undefined {
      try {
        return JSON.parse(readFileSync(file, 'utf8')) as ReplaySnapshot;
      } catch {
        return undefined;
      }
    },
    save(snapshot: ReplaySnapshot): void {
      writeFileSync(`${file}.tmp`, JSON.stringify(snapshot), { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
    },
  };
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
  const store = replayStore(ctx.stateDir);
  const replay = new ReplayCache(100_000, store.load());
  const verifier = new TokenVerifier(tokenDoors, replay);
  const byName = new Map(doors.map((d) => [d.name, d]));

  const server = new KnockEndpoint({
    endpoint,
    verifier,
    pathDoors: doors.filter((d) => d.http.path).map((d) => ({ name: d.name, path: d.http.path as string })),
    numericCodes: tokenDoors.length > 0 && tokenDoors.every((d) => d.tokens.includes('totp')),
    tls: endpoint.tls && { cert: readTls(endpoint.tls.cert, 'cert'), key: readTls(endpoint.tls.key, 'key') },
    log: (level, event, fields) => ctx.logger.log(level, event, fields),
    onTokenUsed: () => {
      try {
        store.save(replay.snapshot(Date.now()));
      } catch (err) {
        ctx.logger.log('warn', 'state-write-failed', { what: 'http replay cache', reason: String(err) });
      }
    },
    open: async (name, address) => {
      const d = byName.get(name) as HttpDoor;
      await ctx.grant(d, address, 'http');
      return { door: d.name, address, until: Date.now() + d.forMs, ports: d.open.map(formatPort) };
    },
  });
  let bound: { address: string; port: number };
  try {
    bound = await server.listen();
  } catch (cause) {
    const { host, port } = endpoint.listen;
    throw new HttpEndpointError(`http.listen ${host}:${port}: ${(cause as Error).message}`, { cause });
  }
  ctx.logger.log('info', 'http-listening', {
    address: bound.address,
    port: bound.port,
    tls: Boolean(endpoint.tls),
    doors: doors.map((d) => d.name),
  });
  const source: DoorSource = { stop: () => server.close() };
  return source;
};
