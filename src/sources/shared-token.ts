import type { Door, SharedDoor } from '../core/door.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { nonceKey } from '../core/knock-token.js';
import { TOKEN_MAX_SKEW_MS, tokenLogGroup, verifyTokenKnock } from '../core/shared-secret.js';
import { readSecretFile } from '../config/secret-file.js';
import type { DoorSource, GrantContext } from './door-source.js';
import type { LoggedPacket } from '../netfilter/nflog-codec.js';
import { openNflog, type PacketSource } from '../netfilter/nflog.js';
import { JournalReplayCache } from './replay/journal-replay-cache.js';
import { MemoryReplayCache } from './replay/replay-cache.js';
import type { ReplayCache } from '../core/contracts.js';

/** Enough for an IPv6 header, a TCP header with options, the prefix and a token line. */
const COPY_RANGE = 256;

/**
 * The token variant of shared-port doors. The kernel can't check an HMAC, so it logs the first
 * data packet that starts with the door's token prefix to the door's own NFLOG group (and
 * resets that connection); this source verifies the token in the logged payload (signature,
 * door, age, unused nonce) and adds the sender to the door's grant set, which the kernel then
 * uses as the redirect set. A replayed token is refused: its nonce is in the replay cache.
 */
export async function sharedTokenSource(door: Door, ctx: GrantContext): Promise<DoorSource | null> {
  if (door.kind !== 'shared' || door.shared.secretKind !== 'token') return null;
  const key = readSecretFile(door.shared.secretFile);
  const group = tokenLogGroup(door, ctx.plan);
  // used nonces outlive SIGHUP and restarts (the source is rebuilt on both)
  mkdirSync(ctx.stateDir, { recursive: true, mode: 0o700 });
  const replay = JournalReplayCache.open(join(ctx.stateDir, `replay-shared-${door.name}.journal`), {
    warn: (event, fields) => ctx.logger.log('warn', event, fields),
  });
  let packets: PacketSource;
  try {
    packets = await openNflog(group, COPY_RANGE);
  } catch (err) {
    replay.close();
    throw err;
  }
  // fleet mode: a token used on any node is refused on all
  const verifier = tokenVerifier(door, key, ctx.sharedReplay?.(replay) ?? replay);
  packets.on('packet', (p) => {
    verifier(p, Date.now())
      .then((verdict) => {
        if (verdict === 'ok') return ctx.grant(door, p.source, { via: 'token' });
        ctx.refused({ source: 'token', door: door.name, address: p.source, reason: verdict });
      })
      .catch((err) =>
        ctx.logger.log('error', 'grant-failed', { door: door.name, address: p.source, reason: String(err) }),
      );
  });
  packets.on('invalid', (reason) => ctx.logger.log('debug', 'invalid-packet', { door: door.name, reason }));
  ctx.logger.log('info', 'token-door', { door: door.name, nflog: group });
  return {
    stop: async () => {
      await packets.close();
      replay.close();
    },
  };
}

/** The decision for one logged packet: 'ok', or why it was refused. */
export function tokenVerifier(door: SharedDoor, key: Uint8Array, cache: ReplayCache = new MemoryReplayCache()) {
  return async (p: LoggedPacket, nowMs: number): Promise<'ok' | 'bad token' | 'replayed token'> => {
    const token = verifyTokenKnock(key, door.name, p.data ?? Buffer.alloc(0), nowMs);
    if (!token) return 'bad token';
    // a nonce stays refused until the token would be too old anyway
    const fresh = await cache.use(nonceKey(door.name, token.nonce), token.timeMs + TOKEN_MAX_SKEW_MS + 1000 - nowMs);
    return fresh ? 'ok' : 'replayed token';
  };
}
