/**
 * Pure encode/decode of NFLOG (nfnetlink_log) messages. See linux/netfilter/nfnetlink_log.h.
 * Only what sesame needs: config commands, and from packets the prefix and source address.
 */

export const NETLINK_NETFILTER = 12;
const NFNL_SUBSYS_ULOG = 4;
export const NFULNL_MSG_PACKET = NFNL_SUBSYS_ULOG << 8;
export const NFULNL_MSG_CONFIG = (NFNL_SUBSYS_ULOG << 8) | 1;

const NFULA_PAYLOAD = 9;
const NFULA_PREFIX = 10;
const NFULA_CFG_CMD = 1;
const NFULA_CFG_MODE = 2;
const NFULA_CFG_QTHRESH = 5;
export const NFULNL_CFG_CMD_BIND = 1;
export const NFULNL_CFG_CMD_UNBIND = 2;
const NFULNL_COPY_PACKET = 2;

/** A logged packet: what the rule said (prefix) and who sent it. */
export interface LoggedPacket {
  readonly prefix: string;
  readonly family: 4 | 6;
  readonly source: string;
  readonly protocol: number;
  readonly destPort: number | null;
  /** TCP/UDP payload bytes (as far as the copy range reached); empty for other protocols. */
  readonly data?: Buffer;
}

function attr(type: number, value: Buffer): Buffer {
  const len = 4 + value.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  value.copy(out, 4);
  return out;
}

function nfgenmsg(group: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt8(0, 0); // AF_UNSPEC
  b.writeUInt8(0, 1); // NFNETLINK_V0
  b.writeUInt16BE(group, 2);
  return b;
}

/** Body of a CONFIG message running `command` on `group`. */
export function configCommand(group: number, command: number): Buffer {
  return Buffer.concat([nfgenmsg(group), attr(NFULA_CFG_CMD, Buffer.from([command]))]);
}

/** Copy the first `range` bytes of each packet, and deliver each message at once (no batching). */
export function configCopyMode(group: number, range: number): Buffer {
  const mode = Buffer.alloc(6);
  mode.writeUInt32BE(range, 0);
  mode.writeUInt8(NFULNL_COPY_PACKET, 4);
  const qthresh = Buffer.alloc(4);
  qthresh.writeUInt32BE(1, 0);
  return Buffer.concat([nfgenmsg(group), attr(NFULA_CFG_MODE, mode), attr(NFULA_CFG_QTHRESH, qthresh)]);
}

/** Decodes the body of an NFULNL_MSG_PACKET message; null when it lacks a prefix or IP header. */
export function decodePacket(body: Buffer): LoggedPacket | null {
  let prefix: string | null = null;
  let payload: Buffer | null = null;
  for (let off = 4; off + 4 <= body.length;) {
    const len = body.readUInt16LE(off);
    const type = body.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4 || off + len > body.length) return null;
    const value = body.subarray(off + 4, off + len);
    if (type === NFULA_PREFIX) prefix = value.toString('latin1').replace(/\0.*$/s, '');
    else if (type === NFULA_PAYLOAD) payload = value;
    off += (len + 3) & ~3;
  }
  if (prefix === null || payload === null || payload.length < 1) return null;
  const version = payload[0] >> 4;
  if (version === 4 && payload.length >= 20) {
    const ihl = (payload[0] & 0x0f) * 4;
    const protocol = payload[9];
    return {
      prefix,
      family: 4,
      source: [...payload.subarray(12, 16)].join('.'),
      protocol,
      destPort: portAt(payload, ihl, protocol),
      data: l4Data(payload, ihl, protocol),
    };
  }
  if (version === 6 && payload.length >= 40) {
    const protocol = payload[6];
    return {
      prefix,
      family: 6,
      source: formatIpv6(payload.subarray(8, 24)),
      protocol,
      destPort: portAt(payload, 40, protocol),
      data: l4Data(payload, 40, protocol),
    };
  }
  return null;
}

function portAt(packet: Buffer, l4: number, protocol: number): number | null {
  if ((protocol === 6 || protocol === 17) && packet.length >= l4 + 4) return packet.readUInt16BE(l4 + 2);
  return null;
}

/** The bytes after the TCP header (data offset) or the UDP header. IPv6 extension headers: none. */
function l4Data(packet: Buffer, l4: number, protocol: number): Buffer {
  if (protocol === 17) return packet.subarray(Math.min(packet.length, l4 + 8));
  if (protocol !== 6 || packet.length < l4 + 13) return Buffer.alloc(0);
  return packet.subarray(Math.min(packet.length, l4 + (packet[l4 + 12] >> 4) * 4));
}

/** RFC 5952 text form (lowercase, longest zero run compressed). */
export function formatIpv6(bytes: Buffer): string {
  const words = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
