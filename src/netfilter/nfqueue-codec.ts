import { type IpPacket, parseIpPacket } from './ip-packet.js';
import { attr, nfgenmsg, readAttributes } from './nfnetlink.js';

/**
 * Pure encode/decode of NFQUEUE (nfnetlink_queue) messages, see
 * linux/netfilter/nfnetlink_queue.h: bind a queue, read queued packets, give verdicts.
 */

const NFNL_SUBSYS_QUEUE = 3;
export const NFQNL_MSG_PACKET = NFNL_SUBSYS_QUEUE << 8;
export const NFQNL_MSG_VERDICT = (NFNL_SUBSYS_QUEUE << 8) | 1;
export const NFQNL_MSG_CONFIG = (NFNL_SUBSYS_QUEUE << 8) | 2;

const NFQA_CFG_CMD = 1;
const NFQA_CFG_PARAMS = 2;
const NFQA_CFG_QUEUE_MAXLEN = 3;
export const NFQNL_CFG_CMD_BIND = 1;
export const NFQNL_CFG_CMD_UNBIND = 2;
const NFQNL_COPY_PACKET = 2;

const NFQA_PACKET_HDR = 1;
const NFQA_VERDICT_HDR = 2;
const NFQA_PAYLOAD = 10;

export const NF_DROP = 0;
export const NF_ACCEPT = 1;

/** A packet the kernel holds until sesame gives its verdict. */
export interface QueuedPacket extends IpPacket {
  readonly id: number;
}

/** Body of a CONFIG message running `command` (bind, unbind) on `queue`. */
export function queueCommand(queue: number, command: number): Buffer {
  return Buffer.concat([nfgenmsg(queue), attr(NFQA_CFG_CMD, Buffer.from([command, 0, 0, 0]))]);
}

/** Copy the first `range` bytes of each packet (headers are enough); at most `maxlen` held at once. */
export function queueParams(queue: number, range: number, maxlen: number): Buffer {
  const params = Buffer.alloc(5);
  params.writeUInt32BE(range, 0);
  params[4] = NFQNL_COPY_PACKET;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(maxlen, 0);
  return Buffer.concat([nfgenmsg(queue), attr(NFQA_CFG_PARAMS, params), attr(NFQA_CFG_QUEUE_MAXLEN, len)]);
}

/** Body of a VERDICT message for packet `id` of `queue`. */
export function verdictBody(queue: number, id: number, verdict: number): Buffer {
  const hdr = Buffer.alloc(8);
  hdr.writeUInt32BE(verdict, 0);
  hdr.writeUInt32BE(id >>> 0, 4);
  return Buffer.concat([nfgenmsg(queue), attr(NFQA_VERDICT_HDR, hdr)]);
}

/**
 * Decodes the body of an NFQNL_MSG_PACKET message; null without a packet id. A packet
 * whose IP header can't be read still has an id (it needs a verdict): `packet` is then null.
 */
export function decodeQueued(body: Buffer): { id: number; packet: QueuedPacket | null } | null {
  // a cut-off tail still leaves the id, and a held packet with an id needs a verdict
  const { attrs } = readAttributes(body);
  const hdr = attrs.get(NFQA_PACKET_HDR);
  const id = hdr && hdr.length >= 4 ? hdr.readUInt32BE(0) : null;
  const payload = attrs.get(NFQA_PAYLOAD) ?? null;
  if (id === null) return null;
  const ip = payload && parseIpPacket(payload);
  return { id, packet: ip ? { id, ...ip } : null };
}
