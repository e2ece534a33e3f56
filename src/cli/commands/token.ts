import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { anyInterface } from '../../config/host-interfaces.js';
import { loadConfigFile } from '../../config/load-config.js';
import { readSecretFile, SecretFileError } from '../../config/secret-file.js';
import type { TokenKind } from '../../core/door.js';
import { makeHmacToken } from '../../core/knock-token.js';
import { base32Encode, otpauthUri, totp } from '../../core/totp.js';
import { CliError } from '../cli-error.js';

export interface TokenCliOptions {
  config?: string;
  secretFile?: string;
  totp?: boolean;
  totpUri?: boolean;
  newSecret?: boolean;
  issuer?: string;
}

/** A web-knock door's name, accepted token kinds and key, from the config or a secret file. */
export function doorSecret(
  door: string | undefined,
  o: Pick<TokenCliOptions, 'config' | 'secretFile'>,
): {
  name: string;
  kinds: readonly TokenKind[];
  key: Buffer;
} {
  if (!door) throw new CliError('E_USAGE', 'which door? `sesame token DOOR -c sesame.yaml`', 2);
  try {
    if (o.secretFile) return { name: door, kinds: ['hmac', 'totp'], key: readSecretFile(o.secretFile) };
    if (!o.config)
      throw new CliError('E_USAGE', "pass -c sesame.yaml (or --secret-file FILE) to find the door's secret", 2);
    const d = loadConfigFile(o.config, { checkInterface: anyInterface }).doors.find((x) => x.name === door);
    if (!d) throw new CliError('E_USAGE', `no door "${door}" in ${o.config}`, 2);
    if (d.kind !== 'http' || !d.http.secretFile || d.http.tokens.length === 0) {
      throw new CliError(
        'E_USAGE',
        `door "${door}" is not a web-knock door with tokens (http: {token: totp|hmac, secret: FILE})`,
        2,
      );
    }
    return { name: door, kinds: d.http.tokens, key: readSecretFile(d.http.secretFile) };
  } catch (err) {
    if (err instanceof SecretFileError) throw new CliError('E_SECRET', err.message, 1);
    throw err;
  }
}

/**
 * `sesame token`: prints a one-time knock token for a web-knock door (an HMAC token, or with
 * --totp the current TOTP code), the otpauth:// URI to set up a phone authenticator
 * (--totp-uri), or a fresh secret for a new door (--new-secret).
 */
export function tokenCommand(door: string | undefined, o: TokenCliOptions, now = Date.now()): string {
  if (o.newSecret) return `${base32Encode(randomBytes(20))}\n`;
  const d = doorSecret(door, o);
  if (o.totpUri) {
    if (!d.kinds.includes('totp'))
      throw new CliError('E_USAGE', `door "${d.name}" doesn't take TOTP codes (http.token)`, 2);
    return `${otpauthUri(d.key, `${d.name}@${hostname()}`, o.issuer ?? 'sesame')}\n`;
  }
  const useTotp = o.totp || !d.kinds.includes('hmac');
  if (useTotp && !d.kinds.includes('totp'))
    throw new CliError('E_USAGE', `door "${d.name}" doesn't take TOTP codes (http.token)`, 2);
  return `${useTotp ? totp(d.key, now) : makeHmacToken(d.key, d.name, now)}\n`;
}
