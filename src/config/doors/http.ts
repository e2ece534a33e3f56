import { z } from 'zod';
import type { TokenKind } from '../../core/door.js';
import { readSecretFile, SecretFileError } from '../secret-file.js';
import { oidcSchema, oidcSettings } from './http-oidc.js';
import { doorBase, doorBaseFields, type DoorKind, needsOpenOrRun } from './kind.js';

/** Paths the endpoint serves itself; a secret path can't shadow them. */
const RESERVED = /^\/(?:knock(?:\/.*)?|favicon\.ico|robots\.txt)?$/;
const MIN_PATH_CHARS = 8;

const httpKnock = z
  .strictObject({
    token: z
      .union([z.enum(['totp', 'hmac', 'none']), z.array(z.enum(['totp', 'hmac'])).min(1)])
      .optional()
      .transform((t): TokenKind[] | undefined =>
        t === undefined ? undefined : t === 'none' ? [] : Array.isArray(t) ? [...new Set(t)] : [t],
      ),
    secret: z.string().min(1).optional(),
    path: z
      .string()
      .regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@%\/-]+$/, 'expected a URL path like /k/4f9c2e1a')
      .refine((p) => !RESERVED.test(p), "this path is the endpoint's own (/, /knock, /knock/DOOR); pick another")
      .refine(
        (p) => p.length > MIN_PATH_CHARS,
        `a secret path needs more than ${MIN_PATH_CHARS} characters; it is the only secret`,
      )
      .optional(),
    oidc: oidcSchema.optional(),
  })
  .transform((h) => ({ ...h, token: h.token ?? (h.oidc ? [] : (['totp'] as TokenKind[])) }))
  .superRefine((h, ctx) => {
    // zod runs refinements on a value whose own fields failed too: nothing to add then
    if (!Array.isArray(h.token)) return;
    if (h.oidc) {
      for (const field of ['secret', 'path'] as const)
        if (h[field])
          ctx.addIssue({
            code: 'custom',
            path: [field],
            message: `an oidc door signs in at the provider; drop \`${field}\``,
          });
      if (h.token.length > 0)
        ctx.addIssue({ code: 'custom', path: ['token'], message: 'an oidc door takes no token; drop `token`' });
      return;
    }
    if (h.token.length === 0) {
      if (!h.path)
        ctx.addIssue({
          code: 'custom',
          path: ['path'],
          message: 'token: none needs `path`, the secret URL path that opens',
        });
      if (h.secret)
        ctx.addIssue({
          code: 'custom',
          path: ['secret'],
          message: 'token: none uses no secret file; use token: totp or hmac',
        });
      return;
    }
    if (h.path)
      ctx.addIssue({
        code: 'custom',
        path: ['path'],
        message: '`path` is for token: none; token doors knock with POST /knock/DOOR',
      });
    // a door without its own secret takes its users' keys (checked at the door, which sees `users`)
    if (!h.secret) return;
    try {
      readSecretFile(h.secret);
    } catch (err) {
      if (!(err instanceof SecretFileError)) throw err;
      ctx.addIssue({ code: 'custom', path: ['secret'], message: err.message });
    }
  });

export const httpDoorSchema = z
  .strictObject({
    http: httpKnock,
    ...doorBaseFields(120_000),
  })
  .superRefine(needsOpenOrRun)
  .superRefine((d, ctx) => {
    if (Array.isArray(d.http?.token) && d.http.token.length > 0 && !d.http.secret && !d.users)
      ctx.addIssue({
        code: 'custom',
        path: ['http', 'secret'],
        message:
          'a token door needs `secret`, a file with a base32 key (`sesame token --new-secret`), or `users:` who knock with their own keys',
      });
  });

/** Web knock on the daemon's HTTP(S) endpoint: `http: {token: totp, secret: /etc/sesame/ssh.key}`. */
export const httpKind: DoorKind = {
  key: 'http',
  schema: httpDoorSchema,
  pathFields: [
    ['http', 'secret'],
    ['http', 'oidc', 'client_secret_file'],
  ],
  secretFields: [
    ['http', 'secret'],
    ['http', 'oidc', 'client_secret_file'],
  ],
  build(name, d: z.infer<typeof httpDoorSchema>, defaults) {
    return {
      kind: 'http',
      ...doorBase(name, d, defaults),
      http: {
        tokens: d.http.token,
        secretFile: d.http.secret,
        path: d.http.path,
        ...(d.http.oidc ? { oidc: oidcSettings(d.http.oidc) } : {}),
      },
    };
  },
};
