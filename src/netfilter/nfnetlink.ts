/**
 * Netlink framing for the netfilter family, written once for NFLOG, NFQUEUE and nftables set
 * elements (linux/netlink.h, linux/netfilter/nfnetlink.h): message headers, the nfgenmsg header
 * and TLV attributes, 4-byte aligned. Pure: bytes in, bytes out.
 */

export const NETLINK_NETFILTER = 12;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_CREATE = 0x400;
/** The kernel's answer to a message sent with NLM_F_ACK: an errno, 0 for success. */
export const NLMSG_ERROR = 2;

const NLA_F_NESTED = 0x8000;
/** Attribute type bits without NLA_F_NESTED and NLA_F_NET_BYTEORDER. */
const NLA_TYPE_MASK = 0x3fff;

/**
 * Writes netlink messages into one growing buffer (a batch of hundreds of elements was
 * thousands of small Buffers joined with concat, a fifth of a busy fleet node's CPU).
 * Lengths of messages and nests are filled in when each ends; everything is 4-byte aligned.
 */
export class MessageWriter {
  private buf: Buffer;
  private at = 0;

  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }

  message(type: number, flags: number, seq: number, body: () => void): void {
    const start = this.reserve(16);
    this.buf.writeUInt16LE(type, start + 4);
    this.buf.writeUInt16LE(flags, start + 6);
    this.buf.writeUInt32LE(seq >>> 0, start + 8);
    this.buf.writeUInt32LE(0, start + 12);
    body();
    this.buf.writeUInt32LE(this.at - start, start);
  }

  /** nfgenmsg: the address family, NFNETLINK_V0, then the group, queue or subsystem (big endian). */
  nfgen(family: number, resId: number): void {
    const at = this.reserve(4);
    this.buf[at] = family;
    this.buf[at + 1] = 0; // NFNETLINK_V0
    this.buf.writeUInt16BE(resId, at + 2);
  }

  attr(type: number, value: Uint8Array): void {
    const at = this.reserve(4 + value.length);
    this.buf.writeUInt16LE(4 + value.length, at);
    this.buf.writeUInt16LE(type, at + 2);
    this.buf.set(value, at + 4);
    this.reserve(pad(value.length));
  }

  attrU64(type: number, n: number): void {
    const at = this.reserve(12);
    this.buf.writeUInt16LE(12, at);
    this.buf.writeUInt16LE(type, at + 2);
    this.buf.writeBigUInt64BE(BigInt(Math.max(0, Math.round(n))), at + 4);
  }

  nest(type: number, body: () => void): void {
    const at = this.reserve(4);
    body();
    this.buf.writeUInt16LE(this.at - at, at);
    this.buf.writeUInt16LE(type | NLA_F_NESTED, at + 2);
  }

  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  /** Claims `n` zeroed bytes and returns where they start. */
  private reserve(n: number): number {
    if (this.at + n > this.buf.length) {
      const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.at + n));
      this.buf.copy(bigger, 0, 0, this.at);
      this.buf = bigger;
    }
    const at = this.at;
    this.at += n;
    return at;
  }
}

/** nfgenmsg: AF_UNSPEC, NFNETLINK_V0, then the group or queue number (big endian). */
export function nfgenmsg(resId: number): Buffer {
  const w = new MessageWriter(4);
  w.nfgen(0, resId);
  return w.done();
}

/** One attribute, padded to 4 bytes. */
export function attr(type: number, value: Uint8Array): Buffer {
  const w = new MessageWriter(4 + value.length + pad(value.length));
  w.attr(type, value);
  return w.done();
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
    attrs.set(body.readUInt16LE(off + 2) & NLA_TYPE_MASK, body.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
  return { attrs, complete: true };
}

/** The errno of an NLMSG_ERROR reply's payload (0 = ACK), as a positive number. */
export function replyErrno(data: Uint8Array): number {
  if (data.length < 4) return -1;
  const error = Buffer.from(data.buffer, data.byteOffset, 4).readInt32LE(0);
  return error === 0 ? 0 : -error;
}

const pad = (n: number) => (4 - (n % 4)) % 4;
