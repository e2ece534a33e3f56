import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseSshKeyLine } from '../core/ssh/ssh-public-key.js';
import { USER_NAME, USER_NAME_RULE } from '../core/users.js';
import { parsed } from './schema.js';
import { readSecretFile, SecretFileError } from './secret-file.js';

/**
 * The users file's schema: one entry per person under `users:`, each credential checked here
 * (key files read, public keys decoded), so a typo is a load error at its line, never a knock
 * that silently fails. See users-file.ts for reading and placing the problems.
 */

/** ssh public key types sesame can check a signature of (certificates: the key inside). */
export const SSH_KEY_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;

/** A key file (`totp_secret_file`, `hmac_key_file`): read now, one base32 key, as door secrets. */
const keyFile = parsed<{ file: string; key: Uint8Array }>((v) => {
  if (typeof v !== 'string' || v === '') return `expected the path of a key file, got ${JSON.stringify(v)}`;
  try {
    return { file: v, key: readSecretFile(v) };
  } catch (err) {
    if (err instanceof SecretFileError) return err.message;
    throw err;
  }
});

/** An ed25519 public key for SPA: 32 bytes, base64. */
export function parseSpaPublicKey(v: unknown): Uint8Array | string {
  const text = typeof v === 'string' ? v.trim() : '';
  const raw = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : null;
  if (!raw || raw.length !== 32)
    return `expected a base64 ed25519 public key (32 bytes, as \`sesame users add NAME --spa-key\` prints), got ${JSON.stringify(v)}`;
  return new Uint8Array(raw);
}

/**
 * An OpenSSH public key line, `TYPE BASE64 [comment]`: the type is one sesame can check, and
 * the blob decodes and names the same type (what `ssh-keygen -l` checks first).
 */
export function checkSshKeyLine(v: unknown): string | null {
  const text = typeof v === 'string' ? v.trim() : '';
  const [type, blob] = text.split(/\s+/);
  const bad = `expected an ssh public key line like "ssh-ed25519 AAAA... alice@laptop", got ${JSON.stringify(v)}`;
  if (!type || !blob) return bad;
  if (!(SSH_KEY_TYPES as readonly string[]).includes(type))
    return `ssh key type ${JSON.stringify(type)} is not one of ${SSH_KEY_TYPES.join(', ')}`;
  const raw = /^[A-Za-z0-9+/]+={0,2}$/.test(blob) ? Buffer.from(blob, 'base64') : Buffer.alloc(0);
  const len = raw.length >= 4 ? raw.readUInt32BE(0) : -1;
  if (len !== type.length || raw.subarray(4, 4 + len).toString('latin1') !== type)
    return `the key data of ${JSON.stringify(type)} is damaged (it does not decode to a ${type} key)`;
  // the key as the signature check will use it (RSA size, curve point, FIDO keys not yet)
  const key = parseSshKeyLine(text);
  return typeof key === 'string' ? key : null;
}

/** A string field checked by `why` (a message, or null when good); `parsed` can't return strings. */
const checkedString = (why: (v: unknown) => string | null) =>
  z
    .unknown()
    .superRefine((v, ctx) => {
      const problem = why(v);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem, input: v });
    })
    .transform((v) => (v as string).trim());

const sshKey = checkedString(checkSshKeyLine);

/** An authorized_keys file: must be readable now; its keys are read by the ssh-signature check. */
const authorizedKeys = checkedString((v) => {
  if (typeof v !== 'string' || v === '')
    return `expected the path of an authorized_keys file, got ${JSON.stringify(v)}`;
  try {
    readFileSync(v, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return `${v}: ${code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? err})`}`;
  }
  return null;
});

const groupName = z.string().regex(USER_NAME, `group names are ${USER_NAME_RULE}`);

/** `oidc: {issuer, subject}` (the provider's `sub`) or `{email}` (a verified email claim). */
const oidc = z
  .strictObject({
    issuer: z.url({ protocol: /^https?$/, error: 'expected the issuer URL, e.g. https://id.example.org' }).optional(),
    subject: z.string().min(1).optional(),
    email: z.email().optional(),
  })
  .superRefine((o, ctx) => {
    if (o.subject !== undefined && o.issuer === undefined)
      ctx.addIssue({ code: 'custom', path: ['issuer'], message: 'a `subject` is only unique with its `issuer`' });
    if (o.subject === undefined && o.email === undefined)
      ctx.addIssue({ code: 'custom', message: 'oidc needs `issuer` and `subject`, or `email`' });
  });

export const userSchema = z.strictObject({
  groups: z.array(groupName).default([]),
  revoked: z.boolean().default(false),
  totp_secret_file: keyFile.optional(),
  hmac_key_file: keyFile.optional(),
  spa_keys: z.array(parsed(parseSpaPublicKey)).default([]),
  ssh_keys: z.array(sshKey).default([]),
  authorized_keys: authorizedKeys.optional(),
  oidc: oidc.optional(),
});

export type UserInput = z.infer<typeof userSchema>;

/** Fields holding paths: relative ones are taken from the users file's folder. */
export const USER_PATH_FIELDS = ['totp_secret_file', 'hmac_key_file', 'authorized_keys'] as const;

/** Fields holding secrets: refused when group or others can read them, as door secrets are. */
export const USER_SECRET_FIELDS = ['totp_secret_file', 'hmac_key_file'] as const;

export const usersFileSchema = z.strictObject({
  // `users:` with every entry commented out is YAML's null: no users
  users: z.preprocess(
    (v) => v ?? {},
    // names are checked by users-file.ts first, with a message at the name's own line
    z.record(
      z.string(),
      z.preprocess((v) => v ?? {}, userSchema),
    ),
  ),
});
