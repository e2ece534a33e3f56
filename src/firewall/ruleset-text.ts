import { SesameError } from '../core/sesame-error.js';

/**
 * User text that ends up inside a generated ruleset (nft or iptables-restore). Both formats
 * are line based, so a newline in a config path or an interface name would start a line of
 * the attacker's choosing. Everything user-given goes through one of these.
 */

/** A control character, DEL, or a Unicode line or paragraph separator. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Text for a `#` comment: unsafe characters become `\xNN` / `\u{NNNN}`, so the comment stays one line. */
export function commentText(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.codePointAt(0) ?? 0;
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** User text that can't be made safe by escaping (nft strings have no escapes). */
export class RulesetTextError extends SesameError {
  static override readonly code = 'E_RULESET_TEXT';
  override readonly name = 'RulesetTextError';
  constructor(
    readonly what: string,
    readonly text: string,
  ) {
    super(`${what} ${JSON.stringify(text)} can't go into a ruleset: only letters, digits and . _ : - are allowed`);
  }
}

/** An interface name as nft (`"eth0"`) or iptables (`eth0`) text; anything else is refused. */
export function interfaceName(name: string): string {
  if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(name)) throw new RulesetTextError('interface name', name);
  return name;
}
