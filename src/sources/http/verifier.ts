import { randomBytes } from 'node:crypto';
import type { TokenKind } from '../../core/door.js';
import { HMAC_MAX_SKEW_MS, looksLikeHmacToken, nonceKey, totpKey, verifyHmacToken } from '../../core/knock-token.js';
import { TOTP_STEP_MS, verifyTotp } from '../../core/totp.js';
import type { ReplayCache } from '../../core/contracts.js';
import { MemoryReplayCache } from '../replay/replay-cache.js';
import { WrongCodeBudget } from './wrong-code-budget.js';

/** A door as the verifier sees it. */
export interface TokenDoor {
  readonly name: string;
  readonly tokens: readonly TokenKind[];
  readonly key: Uint8Array;
}

/** Why a knock was refused: for the daemon's log only, never for the client. */
export type Refusal = 'no-such-door' | 'kind-not-allowed' | 'bad-token' | 'replayed' | 'door-throttled';

const TOTP_WINDOW = 1;

/**
 * Checks knock tokens against doors and lets each token open once. An unknown door is checked
 * against a throwaway key with the same work as a real one, so the time a refusal takes
 * doesn't tell a wrong door from a wrong code. Pure apart from that random key.
 */
export class TokenVerifier {
  private readonly doors = new Map<string, TokenDoor>();
  private readonly decoy: TokenDoor;

  constructor(
    doors: readonly TokenDoor[],
    readonly replay: ReplayCache = new MemoryReplayCache(),
    readonly budget = new WrongCodeBudget(),
  ) {
    for (const d of doors) this.doors.set(d.name, d);
    this.decoy = { name: '', tokens: ['totp', 'hmac'], key: randomBytes(20) };
  }

  /** Names of the doors that take tokens, for the page. */
  get doorNames(): string[] {
    return [...this.doors.keys()];
  }

  /** Accepts `token` for `door` from `address` at `nowMs` and marks it used, or says why not. */
  async verify(
    door: string,
    token: string,
    nowMs: number,
    address = '',
  ): Promise<{ ok: true } | { ok: false; why: Refusal }> {
    const real = this.doors.get(door);
    const d = real ?? { ...this.decoy, name: door };
    const text = token.trim();
    let kind: TokenKind;
    let replayKey: string | null = null;
    let expires = 0;
    if (looksLikeHmacToken(text)) {
      kind = 'hmac';
      const t = verifyHmacToken(d.key, text, d.name, nowMs);
      if (t) {
        replayKey = nonceKey(d.name, t.nonce);
        expires = t.timeMs + HMAC_MAX_SKEW_MS + 1000;
      }
    } else {
      kind = 'totp';
      // wrong codes are budgeted per source network and per door: guessing stays bounded, and
      // one network that spends its budget doesn't lock out users elsewhere
      const now = Math.floor(nowMs / TOTP_STEP_MS);
      if (real && real.tokens.includes('totp') && !this.budget.allows(real.name, address, now)) {
        return { ok: false, why: 'door-throttled' };
      }
      const step = verifyTotp(d.key, text.replace(/\s/g, ''), nowMs, TOTP_WINDOW);
      if (step === null && real && real.tokens.includes('totp')) this.budget.fail(real.name, address, now);
      if (step !== null) {
        replayKey = totpKey(d.name, step);
        // a step can be accepted until the clock is past it by the drift window
        expires = (step + 1 + TOTP_WINDOW) * TOTP_STEP_MS;
      }
    }
    if (!real) return { ok: false, why: 'no-such-door' };
    if (!real.tokens.includes(kind)) return { ok: false, why: 'kind-not-allowed' };
    if (replayKey === null) return { ok: false, why: 'bad-token' };
    if (!(await this.replay.use(replayKey, expires - nowMs))) return { ok: false, why: 'replayed' };
    return { ok: true };
  }
}
