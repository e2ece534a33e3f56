import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseStaticSecret, tokenPrefix } from '../../core/shared-secret.js';
import { parseSecret } from '../secret-file.js';
import { doorBase, doorBaseFields, type DoorKind } from './kind.js';

const port = z.number().int().min(1).max(65535);

/**
 * `shared: {port: 443, secret: FILE, redirect_to: 22, mode: oneshot, secret_kind: static}`.
 * The secret file is read here, so a missing or weak secret is a config error at its line.
 */
const sharedSchema = z
  .strictObject({
    port: port.default(443),
    secret: z.string().min(1, 'expected the path of a file holding the secret'),
    redirect_to: port.default(22),
    mode: z.enum(['oneshot', 'window']).default('oneshot'),
    secret_kind: z.enum(['static', 'token']).default('static'),
  })
  .transform((s, ctx) => {
    if (s.port === s.redirect_to) {
      ctx.addIssue({ code: 'custom', path: ['redirect_to'], message: `redirect_to must differ from port ${s.port}` });
      return z.NEVER;
    }
    const match = readMatch(s.secret, s.secret_kind);
    if (typeof match === 'string') {
      ctx.addIssue({ code: 'custom', path: ['secret'], message: `${s.secret}: ${match}` });
      return z.NEVER;
    }
    return { ...s, matchHex: match.toString('hex') };
  });

/** The bytes the kernel matches: the static secret, or the token prefix derived from the key. */
function readMatch(file: string, kind: 'static' | 'token'): Buffer | string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? String(cause)})`;
  }
  if (kind === 'static') return parseStaticSecret(bytes);
  const key = parseSecret(bytes.toString('utf8'));
  return typeof key === 'string' ? key : tokenPrefix(key);
}

// no `open`: a shared door opens its redirect target, nothing else
export const sharedDoorSchema = z
  .strictObject({ shared: sharedSchema, ...doorBaseFields(300_000) })
  .omit({ open: true });

/** Shared-port knock: a secret in the first bytes on 443 sends the next connection to 22. */
export const sharedKind: DoorKind = {
  key: 'shared',
  schema: sharedDoorSchema,
  pathFields: [['shared', 'secret']],
  secretFields: [['shared', 'secret']],
  build(name, d: z.infer<typeof sharedDoorSchema>, defaults) {
    const s = d.shared;
    return {
      kind: 'shared',
      // the redirect target is protected like any door's open port: only redirected
      // connections (and addresses holding a pending redirect) reach it
      ...doorBase(name, d, defaults, [{ port: s.redirect_to, proto: 'tcp' }]),
      shared: {
        port: s.port,
        redirectTo: s.redirect_to,
        mode: s.mode,
        secretKind: s.secret_kind,
        secretFile: s.secret,
        matchHex: s.matchHex,
      },
    };
  },
};
