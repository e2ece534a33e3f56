/**
 * What NFLOG and NFQUEUE messages share (linux/netfilter/nfnetlink.h): the nfgenmsg header and
 * TLV attributes, 4-byte aligned. Pure.
 */

export const NETLINK_NETFILTER = 12;

/** nfgenmsg: AF_UNSPEC, NFNETLINK_V0, then the group or queue number (big endian). */
export function nfgenmsg(resId: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(resId, 2);
  return b;
}

export function attr(type: number, value: Buffer): Buffer {
  const out = Buffer.alloc((4 + value.length + 3) & ~3);
  out.writeUInt16LE(4 + value.length, 0);
  out.writeUInt16LE(type, 2);
  value.copy(out, 4);
  return out;
}

/**
 * The attributes after a message's nfgenmsg header, by type (flag bits masked off; a repeated
 * type keeps the last). `complete` is false when a length ran past the end: what came before
 * it is still there, and the caller decides whether that is enough.
 */
export function readAttributes(body: Buffer): { attrs: Map<number, Buffer>; complete: boolean } {
  const attrs = new Map<number, Buffer>();
  for (let off = 4; off + 4 <= body.length;) {
    const len = body.readUInt16LE(off);
    if (len < 4 || off + len > body.length) return { attrs, complete: false };
    attrs.set(body.readUInt16LE(off + 2) & 0x3fff, body.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
  return { attrs, complete: true };
}
