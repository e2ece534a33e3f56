import { type IpPacket, parseIpPacket } from './ip-packet.js';
import { attr, nfgenmsg, readAttributes } from './nfnetlink.js';

/**
 * Pure encode/decode of NFLOG (nfnetlink_log) messages. See linux/netfilter/nfnetlink_log.h.
 * Only what sesame needs: config commands, and from packets the prefix and source address.
 */

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
export interface LoggedPacket extends IpPacket {
  readonly prefix: string;
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
  const { attrs, complete } = readAttributes(body);
  if (!complete) return null;
  const prefix = attrs.get(NFULA_PREFIX)?.toString('latin1').replace(/\0.*$/s, '') ?? null;
  const payload = attrs.get(NFULA_PAYLOAD) ?? null;
  if (prefix === null || payload === null) return null;
  const packet = parseIpPacket(payload);
  return packet && { prefix, ...packet };
}
