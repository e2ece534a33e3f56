import { z } from 'zod';
import type { OidcSettings } from '../../core/door.js';
import { OIDC_CALLBACK_PATH } from '../../core/oidc-allow.js';
import { readSecretText, SecretFileError } from '../secret-file.js';

/**
 * `http: {oidc: {...}}`: the door opens for whoever signs in at the identity provider and is
 * in `allow`. The client secret lives in a file with the same checks as other secrets.
 */
export const oidcSchema = z.strictObject({
  issuer: z.url({
    protocol: /^https$/,
    error: "expected the provider's https issuer URL, e.g. https://id.example.org/realms/staff",
  }),
  client_id: z.string().min(1),
  client_secret_file: z
    .string()
    .min(1)
    .superRefine((file, ctx) => {
      try {
        readSecretText(file);
      } catch (err) {
        if (!(err instanceof SecretFileError)) throw err;
        ctx.addIssue({ code: 'custom', message: err.message });
      }
    }),
  redirect_uri: z
    .url({ protocol: /^https$/, error: `expected this endpoint's https URL ending in ${OIDC_CALLBACK_PATH}` })
    .refine((u) => new URL(u).pathname === OIDC_CALLBACK_PATH, `the callback path is ${OIDC_CALLBACK_PATH}`),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'a scope is one word'))
    .default(['openid', 'email', 'profile'])
    .refine((s) => s.includes('openid'), 'scopes must include openid'),
  groups_claim: z.string().min(1).default('groups'),
  allow: z
    .strictObject({
      groups: z.array(z.string().min(1)).default([]),
      emails: z.array(z.string().regex(/^[^@\s]+@[^@\s]+$/, 'expected an email address')).default([]),
    })
    .refine(
      (a) => a.groups.length + a.emails.length > 0,
      'name who may sign in: `allow: {groups: [...]}` or `allow: {emails: [...]}` (everyone the provider knows is too many)',
    ),
});

export type OidcInput = z.infer<typeof oidcSchema>;

export function oidcSettings(o: OidcInput): OidcSettings {
  return {
    issuer: o.issuer,
    clientId: o.client_id,
    clientSecretFile: o.client_secret_file,
    redirectUri: o.redirect_uri,
    scopes: o.scopes,
    groupsClaim: o.groups_claim,
    allow: o.allow,
  };
}
