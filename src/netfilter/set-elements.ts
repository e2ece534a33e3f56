import type { Family, PortSpec } from '../core/door.js';
import { addressBytes } from '../core/ip-address.js';
import { TABLE } from '../core/kernel-names.js';
import { MessageWriter, NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST } from './nfnetlink.js';

/**
 * nftables set-element changes as one netlink batch (what `nft -f -` sends for
 * `add element` / `delete element`), so a grant is a single write to a socket the daemon
 * keeps open instead of a spawned `nft`. Pure: bytes in, bytes out.
 * Numbers from linux/netfilter/nf_tables.h and nfnetlink.h.
 */

const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
const NFT_MSG_NEWSETELEM = 12;
const NFT_MSG_DELSETELEM = 14;
const NFPROTO_INET = 1;

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
