/**
 * fwknop's base64: the standard alphabet with the `=` padding removed (lib/base64.c and
 * strip_b64_eq()). Decoding is strict about the alphabet, so a field can't smuggle bytes
 * Node's lenient decoder would skip.
 */

const B64 = /^[A-Za-z0-9+/]*$/;

export function b64Encode(data: Uint8Array | string): string {
  return Buffer.from(data).toString('base64').replace(/=+$/, '');
}

/** Bytes of unpadded standard base64, or null when `text` is not that. */
export function b64Decode(text: string): Buffer | null {
  if (!B64.test(text) || text.length % 4 === 1) return null;
  return Buffer.from(text, 'base64');
}

/** The characters an SPA packet may consist of (fwknopd's is_base64 without `=`, which stock packets never carry). */
export function isB64Text(text: string): boolean {
  return B64.test(text);
}
