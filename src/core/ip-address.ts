/**
 * Address checks without Node's `net` (core does no I/O): the text forms the kernel and nft
 * accept, nothing else (no zones, no prefixes, no leading zeros in IPv4).
 */

const V4_PART = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => V4_PART.test(p));
}

export function isIPv6(s: string): boolean {
  if (s.length < 2 || s.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(s)) return false;
  let text = s;
  let groups = 8;
  // an IPv4 tail (::ffff:1.2.3.4) takes the place of two groups
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    if (!isIPv4(text.slice(lastColon + 1))) return false;
    text = `${text.slice(0, lastColon + 1)}0`;
    groups = 7;
  }
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const count = (h: string) => (h === '' ? [] : h.split(':'));
  const head = count(halves[0]);
  const tail = halves.length === 2 ? count(halves[1]) : [];
  if (![...head, ...tail].every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  const n = head.length + tail.length;
  return halves.length === 2 ? n < groups : n === groups;
}

/** 4, 6, or 0 when `s` is not an address. */
export function ipFamily(s: string): 0 | 4 | 6 {
  return isIPv4(s) ? 4 : isIPv6(s) ? 6 : 0;
}

/** The family of an address already checked (one with a colon is IPv6). */
export function addressFamily(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

/**
 * The network an address is in, as text: `198.18.7.0/24`, `fd00:5e5a:1::/48` (v4 cut at
 * `v4Bits`, v6 at `v6Bits`); the address itself when it is not one.
 */
export function addressPrefix(address: string, v4Bits: number, v6Bits: number): string {
  const bytes = addressBytes(address);
  if (!bytes) return address;
  const bits = bytes.length === 4 ? v4Bits : v6Bits;
  const masked = bytes.map((b, i) => (i * 8 >= bits ? 0 : i * 8 + 8 <= bits ? b : b & (0xff << (8 - (bits % 8)))));
  if (bytes.length === 4) return `${masked.join('.')}/${bits}`;
  const groups = Array.from({ length: 8 }, (_, i) => ((masked[2 * i] << 8) | masked[2 * i + 1]).toString(16));
  return `${groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}/${bits}`;
}

/** The address in network byte order (4 or 16 bytes), or null when `s` is not an address. */
export function addressBytes(s: string): Uint8Array | null {
  if (isIPv4(s)) return Uint8Array.from(s.split('.').map(Number));
  if (!isIPv6(s)) return null;
  let text = s;
  if (text.includes('.')) {
    // an IPv4 tail stands for the last two groups: ::ffff:1.2.3.4 = ::ffff:102:304
    const [a, b, c, d] = text
      .slice(text.lastIndexOf(':') + 1)
      .split('.')
      .map(Number);
    text = `${text.slice(0, text.lastIndexOf(':') + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const groups = (h: string | undefined) => (h ? h.split(':').map((g) => parseInt(g, 16)) : []);
  const front = groups(head);
  const back = groups(tail);
  const all = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  return Uint8Array.from(all.flatMap((g) => [g >> 8, g & 0xff]));
}
