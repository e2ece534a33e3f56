/**
 * Who an OIDC sign-in is, and whether a door lets them in: pure, from the ID token's claims
 * (already checked by the client library: signature, issuer, audience, nonce, expiry).
 */

/** The endpoint's callback path, registered at the provider as part of `redirect_uri`. */
export const OIDC_CALLBACK_PATH = '/oidc/callback';

export interface OidcAllow {
  readonly groups: readonly string[];
  readonly emails: readonly string[];
}

export type SignInVerdict =
  | { readonly ok: true; readonly user: string; readonly subject: string; readonly email?: string }
  | { readonly ok: false; readonly why: 'not-allowed' | 'email-unverified' | 'no-subject'; readonly user?: string };

/**
 * Allowed when the user is in one of `allow.groups` (the `groupsClaim` claim, a list of names)
 * or their email is in `allow.emails`; an email the provider says is unverified counts for
 * nothing, as anyone can type one. The user's name is the email when there is one, else `sub`.
 */
export function judgeSignIn(claims: Record<string, unknown>, allow: OidcAllow, groupsClaim: string): SignInVerdict {
  const subject = typeof claims.sub === 'string' && claims.sub !== '' ? claims.sub : null;
  if (subject === null) return { ok: false, why: 'no-subject' };
  const rawEmail = typeof claims.email === 'string' ? claims.email.toLowerCase() : undefined;
  const email = rawEmail !== undefined && claims.email_verified !== false ? rawEmail : undefined;
  const user = rawEmail ?? subject;
  const groups = Array.isArray(claims[groupsClaim]) ? (claims[groupsClaim] as unknown[]) : [];
  const inGroup = groups.some((g) => typeof g === 'string' && allow.groups.includes(g));
  const listed = email !== undefined && allow.emails.some((e) => e.toLowerCase() === email);
  if (inGroup || listed) return { ok: true, user, subject, ...(email !== undefined ? { email } : {}) };
  if (rawEmail !== undefined && email === undefined && allow.emails.some((e) => e.toLowerCase() === rawEmail))
    return { ok: false, why: 'email-unverified', user };
  return { ok: false, why: 'not-allowed', user };
}
