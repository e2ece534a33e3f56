import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as oidc from 'openid-client';
import type { Clock } from '../../core/contracts.js';
import type { OidcSettings } from '../../core/door.js';
import { judgeSignIn } from '../../core/oidc-allow.js';

/**
 * OpenID Connect sign-in for http doors: the authorization code flow with PKCE, state and
 * nonce, through openid-client (which checks the ID token's signature, issuer, audience, nonce
 * and expiry). A sign-in is bound three ways before it opens anything: the one-time `state`
 * (a callback URL works once), a cookie set on this browser when it started (a callback URL
 * sent to someone else is refused), and the address it started from (the grant is for that
 * address; a browser that changed networks starts again).
 */

export const SIGN_IN_COOKIE = 'sesame_oidc';
/** How long a started sign-in waits for the provider's callback. */
const PENDING_MS = 10 * 60_000;
/** Started sign-ins held at once; the oldest go first (a flood of starts can't grow memory). */
const MAX_PENDING = 10_000;
/** Seconds a request to the provider (discovery, token) may take before the page says so. */
const PROVIDER_TIMEOUT_S = 10;

export interface OidcDoor {
  readonly name: string;
  readonly settings: OidcSettings;
  readonly clientSecret: string;
}

interface Pending {
  readonly door: OidcDoor;
  readonly address: string;
  readonly verifier: string;
  readonly nonce: string;
  readonly cookieHash: Buffer;
  readonly expires: number;
}

export type StartResult =
  | { readonly ok: true; readonly location: string; readonly cookie: string }
  | { readonly ok: false; readonly why: 'no-such-door' | 'provider-unreachable'; readonly detail?: string };

export type FinishResult =
  | { readonly ok: true; readonly door: string; readonly user: string; readonly address: string }
  | {
      readonly ok: false;
      readonly why:
        | 'unknown-state'
        | 'wrong-browser'
        | 'address-changed'
        | 'provider-error'
        | 'provider-unreachable'
        | 'token-refused'
        | 'not-allowed'
        | 'email-unverified'
        | 'no-subject';
      readonly door?: string;
      readonly user?: string;
      readonly detail?: string;
    };

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export class OidcSignIn {
  private readonly doors: Map<string, OidcDoor>;
  private readonly pending = new Map<string, Pending>();
  private readonly configs = new Map<string, Promise<oidc.Configuration>>();

  constructor(
    doors: readonly OidcDoor[],
    private readonly now: Clock = Date.now,
  ) {
    this.doors = new Map(doors.map((d) => [d.name, d]));
  }

  get doorNames(): string[] {
    return [...this.doors.keys()];
  }

  /** Where to send the browser for `door`, and the cookie that ties the callback to it. */
  async start(doorName: string, address: string): Promise<StartResult> {
    const door = this.doors.get(doorName);
    if (!door) return { ok: false, why: 'no-such-door' };
    let config: oidc.Configuration;
    try {
      config = await this.configOf(door);
    } catch (err) {
      return { ok: false, why: 'provider-unreachable', detail: reason(err) };
    }
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const cookie = randomBytes(32).toString('base64url');
    this.sweep();
    this.pending.set(state, {
      door,
      address,
      verifier,
      nonce,
      cookieHash: sha256(cookie),
      expires: this.now() + PENDING_MS,
    });
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: door.settings.redirectUri,
      scope: door.settings.scopes.join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { ok: true, location: url.href, cookie };
  }

  /**
   * The provider's redirect back (`query` of the callback URL), with the sign-in cookie and the
   * address it came from: trades the code for tokens and judges the ID token's claims.
   */
  async finish(query: URLSearchParams, cookie: string | undefined, address: string): Promise<FinishResult> {
    const state = query.get('state') ?? '';
    const p = this.pending.get(state);
    if (!p || p.expires <= this.now()) return { ok: false, why: 'unknown-state' };
    // used once, whatever happens next: a replayed callback URL finds nothing
    this.pending.delete(state);
    const door = p.door.name;
    const given = sha256(cookie ?? '');
    if (!cookie || !timingSafeEqual(given, p.cookieHash)) return { ok: false, why: 'wrong-browser', door };
    if (address !== p.address) return { ok: false, why: 'address-changed', door, detail: `${p.address} → ${address}` };
    const error = query.get('error');
    if (error) return { ok: false, why: 'provider-error', door, detail: error.slice(0, 100) };

    let claims: Record<string, unknown>;
    try {
      const config = await this.configOf(p.door);
      const callback = new URL(p.door.settings.redirectUri);
      callback.search = query.toString();
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: p.verifier,
        expectedState: state,
        expectedNonce: p.nonce,
        idTokenExpected: true,
      });
      claims = (tokens.claims() ?? {}) as Record<string, unknown>;
    } catch (err) {
      const unreachable = err instanceof TypeError || /fetch failed|timeout|ECONN/i.test(reason(err));
      return { ok: false, why: unreachable ? 'provider-unreachable' : 'token-refused', door, detail: reason(err) };
    }
    const verdict = judgeSignIn(claims, p.door.settings.allow, p.door.settings.groupsClaim);
    if (!verdict.ok)
      return { ok: false, why: verdict.why, door, ...(verdict.user !== undefined ? { user: verdict.user } : {}) };
    return { ok: true, door, user: verdict.user, address };
  }

  /** Discovery once per door; a failure is not kept, so the next sign-in tries again. */
  private configOf(door: OidcDoor): Promise<oidc.Configuration> {
    let config = this.configs.get(door.name);
    if (!config) {
      const s = door.settings;
      config = oidc.discovery(new URL(s.issuer), s.clientId, door.clientSecret, undefined, {
        timeout: PROVIDER_TIMEOUT_S,
      });
      this.configs.set(door.name, config);
      config.catch(() => this.configs.delete(door.name));
    }
    return config;
  }

  private sweep(): void {
    const now = this.now();
    for (const [state, p] of this.pending) if (p.expires <= now) this.pending.delete(state);
    while (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value as string);
  }
}

function reason(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string; code?: string } };
  const cause = e?.cause?.code ?? e?.cause?.message;
  return `${e?.message ?? String(err)}${cause ? ` (${cause})` : ''}`.slice(0, 200);
}
