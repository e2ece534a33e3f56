import type { Door, SharedDoor } from '../core/door.js';
import { nonceKey, ReplayCache } from '../core/knock-token.js';
import { TOKEN_MAX_SKEW_MS, tokenLogGroup, verifyTokenKnock } from '../core/shared-secret.js';
import { readSecretFile } from '../config/secret-file.js';
import type { DoorSource, GrantContext } from '../daemon/door-sources.js';
import type { LoggedPacket } from './nflog-decode.js';
import { openNflog, type PacketSource } from './nflog.js';

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
  const packets: PacketSource = await openNflog(group, COPY_RANGE);
  const verifier = tokenVerifier(door, key);
  packets.on('packet', (p) => {
    const verdict = verifier(p, Date.now());
    if (verdict === 'ok') {
      ctx
        .grant(door, p.source, 'token')
        .catch((err) =>
          ctx.logger.log('error', 'grant-failed', { door: door.name, address: p.source, reason: String(err) }),
        );
    } else ctx.logger.log('warn', 'token-refused', { door: door.name, address: p.source, reason: verdict });
  });
  packets.on('invalid', (reason) => ctx.logger.log('debug', 'invalid-packet', { door: door.name, reason }));
  ctx.logger.log('info', 'token-door', { door: door.name, nflog: group });
  return { stop: () => packets.close() };
}

/** Pure decision for one logged packet: 'ok', or why it was refused. */
export function tokenVerifier(door: SharedDoor, key: Uint8Array, cache = new ReplayCache()) {
  return (p: LoggedPacket, nowMs: number): 'ok' | 'bad token' | 'replayed token' => {
    const token = verifyTokenKnock(key, door.name, p.data ?? Buffer.alloc(0), nowMs);
    if (!token) return 'bad token';
    // a nonce stays refused until the token would be too old anyway
    const fresh = cache.use(nonceKey(door.name, token.nonce), nowMs, token.timeMs + TOKEN_MAX_SKEW_MS + 1000);
    return fresh ? 'ok' : 'replayed token';
  };
}
