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

/**
 * The batch for `changes`, in order: consecutive changes of the same verb and set share one
 * message. Every message asks for an ACK; `seqs` are their sequence numbers (first = `seq`),
 * so the caller knows when the kernel has answered them all.
 */
export function encodeBatch(changes: readonly ElementChange[], seq: number): { bytes: Buffer; seqs: number[] } {
  const messages: Buffer[] = [message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, seq++, nfgen(0, NFNL_SUBSYS_NFTABLES))];
  const seqs: number[] = [];
  for (let i = 0; i < changes.length;) {
    const { verb, set } = changes[i];
    let j = i;
    while (j < changes.length && changes[j].verb === verb && changes[j].set === set) j++;
    const elements = changes
      .slice(i, j)
      .map((c) =>
        attr(NFTA_LIST_ELEM | NLA_F_NESTED, [
          attr(NFTA_SET_ELEM_KEY | NLA_F_NESTED, [attr(NFTA_DATA_VALUE, [c.key])]),
          ...(c.timeoutMs !== undefined ? [attr(NFTA_SET_ELEM_TIMEOUT, [be64(c.timeoutMs)])] : []),
        ]),
      );
    const body = [
      nfgen(NFPROTO_INET, 0),
      attr(NFTA_SET_ELEM_LIST_TABLE, [cstring(TABLE)]),
      attr(NFTA_SET_ELEM_LIST_SET, [cstring(set)]),
      attr(NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED, elements),
    ];
    const type = (NFNL_SUBSYS_NFTABLES << 8) | (verb === 'add' ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM);
    // add without EXCL: an element already there is no error (nft's `add element`)
    const flags = NLM_F_REQUEST | NLM_F_ACK | (verb === 'add' ? NLM_F_CREATE : 0);
    seqs.push(seq);
    messages.push(message(type, flags, seq++, Buffer.concat(body)));
    i = j;
  }
  messages.push(message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, seq, nfgen(0, NFNL_SUBSYS_NFTABLES)));
  return { bytes: Buffer.concat(messages), seqs };
}

/** The errno of an NLMSG_ERROR reply's payload (0 = ACK), as a positive number. */
export function replyErrno(data: Uint8Array): number {
  if (data.length < 4) return -1;
  const error = Buffer.from(data.buffer, data.byteOffset, 4).readInt32LE(0);
  return error === 0 ? 0 : -error;
}

function message(type: number, flags: number, seq: number, body: Buffer): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32LE(16 + body.length, 0);
  head.writeUInt16LE(type, 4);
  head.writeUInt16LE(flags, 6);
  head.writeUInt32LE(seq >>> 0, 8);
  head.writeUInt32LE(0, 12);
  return Buffer.concat([head, body, Buffer.alloc(pad(body.length))]);
}

function nfgen(family: number, resId: number): Buffer {
  const b = Buffer.alloc(4);
  b[0] = family;
  b[1] = 0; // NFNETLINK_V0
  b.writeUInt16BE(resId, 2);
  return b;
}

function attr(type: number, parts: readonly Uint8Array[]): Buffer {
  const value = Buffer.concat(parts);
  const head = Buffer.alloc(4);
  head.writeUInt16LE(4 + value.length, 0);
  head.writeUInt16LE(type, 2);
  return Buffer.concat([head, value, Buffer.alloc(pad(value.length))]);
}

const pad = (n: number) => (4 - (n % 4)) % 4;
const cstring = (s: string) => Buffer.from(`${s}\0`);
function be64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.round(n))));
  return b;
}
