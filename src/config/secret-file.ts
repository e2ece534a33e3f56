import { readFileSync, statSync } from 'node:fs';
import { base32Decode } from '../core/totp.js';
import { SesameError } from '../core/sesame-error.js';

/** Fewer bits than this can be brute-forced offline from one sniffed HMAC token (RFC 4226 asks for 128). */
export const MIN_SECRET_BYTES = 16;

/** A secret file that can't be used; the message says what to do. */
export class SecretFileError extends SesameError {
  static override readonly code = 'E_SECRET';
  override readonly name = 'SecretFileError';
  constructor(
    readonly file: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${file}: ${message}`, options);
  }
}

/** Parses secret file text: one base32 key (what `sesame token --new-secret` writes). */
export function parseSecret(text: string): Buffer | string {
  const key = base32Decode(text.trim());
  if (!key || key.length === 0) return 'expected one base32 key (A-Z, 2-7); make one with `sesame token --new-secret`';
  if (key.length < MIN_SECRET_BYTES) {
    return `key has ${key.length * 8} bits, at least ${MIN_SECRET_BYTES * 8} are needed; make one with \`sesame token --new-secret\``;
  }
  return key;
}

/** Reads a door's shared secret. Throws SecretFileError. */
/** A secret kept as text (an OAuth client secret, a password): the file's first line, trimmed. */
export function readSecretText(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new SecretFileError(file, code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? cause})`, { cause });
  }
  const line = text.split('\n')[0].trim();
  if (line === '') throw new SecretFileError(file, 'the file is empty');
  return line;
}

export function readSecretFile(file: string): Buffer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new SecretFileError(file, code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? cause})`, { cause });
  }
  const key = parseSecret(text);
  if (typeof key === 'string') throw new SecretFileError(file, key);
  return key;
}

/**
 * Why `file` is too open for a secret (group or others may read or write it), or null when it
 * is private or can't be stat'ed (then reading it reports the real problem).
 */
export function secretFileTooOpen(file: string): string | null {
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    return null;
  }
  if ((mode & 0o077) === 0) return null;
  const octal = mode.toString(8).padStart(4, '0');
  return `${file} is readable by group or others (mode ${octal}); run \`chmod 600 ${file}\` (or start with \`serve --allow-readable-secrets\`)`;
}
