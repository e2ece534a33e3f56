import type { Family, PortSpec } from '../../core/door.js';
import { addressBytes } from '../../core/ip-address.js';
import { TABLE } from '../../core/kernel-names.js';

/**
 * nftables set-element changes as one netlink batch (what `nft -f -` sends for
 * `add element` / `delete element`), so a grant is a single write to a socket the daemon
 * keeps open instead of a spawned `nft`. Pure: bytes in, bytes out.
 * Numbers from linux/netfilter/nf_tables.h, nfnetlink.h and netlink.h.
 */

const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
const NFT_MSG_NEWSETELEM = 12;
const NFT_MSG_DELSETELEM = 14;
const NFPROTO_INET = 1;

const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_CREATE = 0x400;
export const NLMSG_ERROR = 2;

const NLA_F_NESTED = 0x8000;
const NFTA_SET_ELEM_LIST_TABLE = 1;
const NFTA_SET_ELEM_LIST_SET = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
const NFTA_LIST_ELEM = 1;
const NFTA_SET_ELEM_KEY = 1;
const NFTA_SET_ELEM_TIMEOUT = 4;
const NFTA_DATA_VALUE = 1;

const PROTO = { tcp: 6, udp: 17 } as const;

/** One element added to or deleted from a set of sesame's table. */
export interface ElementChange {
  readonly verb: 'add' | 'delete';
  readonly set: string;
  readonly key: Uint8Array;
  /** Lifetime of an added element; the set's default timeout when absent. */
  readonly timeoutMs?: number;
}

/**
 * A grant set's key: the address, or `address . proto . port` for per-port sets. In a
 * concatenation each field takes a whole number of 32-bit registers (proto 1 byte and port
 * 2 bytes are each padded to 4), which is how the kernel compares keys.
 */
export function elementKey(family: Family, address: string, port?: PortSpec): Uint8Array | null {
  const addr = addressBytes(address);
  if (!addr || addr.length !== (family === 4 ? 4 : 16)) return null;
  if (!port) return addr;
  const key = new Uint8Array(addr.length + 8);
  key.set(addr);
  key[addr.length] = PROTO[port.proto];
  key[addr.length + 4] = port.port >> 8;
  key[addr.length + 5] = port.port & 0xff;
  return key;
}

export function encodeBatch(changes: readonly ElementChange[], seq: number): { bytes: Buffer; seqs: number[] } {
  const w = new MessageWriter(64 + changes.length * 64);
  w.message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, seq++, () => w.nfgen(0, NFNL_SUBSYS_NFTABLES));
  const seqs: number[] = [];
  for (let i = 0; i < changes.length;) {
    const { verb, set } = changes[i];
    let j = i;
    while (j < changes.length && changes[j].verb === verb && changes[j].set === set) j++;
    const type = (NFNL_SUBSYS_NFTABLES << 8) | (verb === 'add' ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM);
    // add without EXCL: an element already there is no error (nft's `add element`)
    const flags = NLM_F_REQUEST | NLM_F_ACK | (verb === 'add' ? NLM_F_CREATE : 0);
    seqs.push(seq);
    w.message(type, flags, seq++, () => {
      w.nfgen(NFPROTO_INET, 0);
      w.attr(NFTA_SET_ELEM_LIST_TABLE, TABLE_NAME);
      w.attr(NFTA_SET_ELEM_LIST_SET, Buffer.from(`${set}\0`));
      w.nest(NFTA_SET_ELEM_LIST_ELEMENTS, () => {
        for (let k = i; k < j; k++) {
          const c = changes[k];
          w.nest(NFTA_LIST_ELEM, () => {
            w.nest(NFTA_SET_ELEM_KEY, () => w.attr(NFTA_DATA_VALUE, c.key));
            if (c.timeoutMs !== undefined) w.attrU64(NFTA_SET_ELEM_TIMEOUT, c.timeoutMs);
          });
        }
      });
    });
    i = j;
  }
  w.message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, seq, () => w.nfgen(0, NFNL_SUBSYS_NFTABLES));
  return { bytes: w.done(), seqs };
}

const TABLE_NAME = Buffer.from(`${TABLE}\0`);

/**
 * Writes netlink messages into one growing buffer (a batch of hundreds of elements was
 * thousands of small Buffers joined with concat, a fifth of a busy fleet node's CPU).
 * Lengths of messages and nests are filled in when each ends; everything is 4-byte aligned.
 */
class MessageWriter {
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

/** The errno of an NLMSG_ERROR reply's payload (0 = ACK), as a positive number. */
export function replyErrno(data: Uint8Array): number {
  if (data.length < 4) return -1;
  const error = Buffer.from(data.buffer, data.byteOffset, 4).readInt32LE(0);
  return error === 0 ? 0 : -error;
}

const pad = (n: number) => (4 - (n % 4)) % 4;
