import { createNetlink, type NetlinkSocket } from 'netlink/dist/netlink.js';
import { NETLINK_NETFILTER, NLM_F_ACK, NLM_F_REQUEST } from './nfnetlink.js';

// netlink's socket module only: the package index loads every netlink family (about 4 MB)
export type { NetlinkSocket } from 'netlink/dist/netlink.js';

/** How long a configuration request waits for the kernel's acknowledgement. */
const CONFIG_TIMEOUT_MS = 2000;

/**
 * A netfilter netlink socket in this network namespace. Throws (synchronously) when it can't be
 * opened: not root, or no netfilter netlink in the kernel.
 */
export function openNetfilterSocket(options: {
  ref: boolean;
  recvBufferSize: number;
  sendBufferSize: number;
}): NetlinkSocket {
  return createNetlink(NETLINK_NETFILTER, options);
}

/** Sends one configuration message (bind, copy mode) and waits for its acknowledgement. */
export async function configure(socket: NetlinkSocket, type: number, body: Buffer): Promise<void> {
  await socket.request(type, body, { flags: NLM_F_REQUEST | NLM_F_ACK, timeout: CONFIG_TIMEOUT_MS });
}
