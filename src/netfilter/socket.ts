import { createNetlink, type NetlinkSocket } from 'netlink/dist/netlink.js';
import { NETLINK_NETFILTER, NLM_F_ACK, NLM_F_REQUEST } from './nfnetlink.js';

// netlink's socket module only: the package index loads every netlink family (about 4 MB)
export type { NetlinkSocket } from 'netlink/dist/netlink.js';

/** How long a configuration request waits for the kernel's acknowledgement. */
const CONFIG_TIMEOUT_MS = 2000;

export interface SocketOptions {
  readonly ref: boolean;
  readonly recvBufferSize: number;
  readonly sendBufferSize: number;
}

/**
 * A netfilter netlink socket in this network namespace. Throws (synchronously) when it can't be
 * opened: not root, or no netfilter netlink in the kernel.
 */
export function openNetfilterSocket(options: SocketOptions): NetlinkSocket {
  return createNetlink(NETLINK_NETFILTER, options);
}

/** Sends one configuration message (bind, copy mode) and waits for its acknowledgement. */
async function configure(socket: NetlinkSocket, type: number, body: Buffer): Promise<void> {
  await socket.request(type, body, { flags: NLM_F_REQUEST | NLM_F_ACK, timeout: CONFIG_TIMEOUT_MS });
}

/** How a subsystem (NFLOG, NFQUEUE) words the failures of bindNetfilter, in its own error class. */
export interface BindWords {
  readonly error: (message: string, options: ErrorOptions) => Error;
  /** The message when another socket holds the group or queue. */
  readonly busy: string;
  /** The message for a configuration step `what` that failed otherwise (the cause follows). */
  readonly failed: (what: string) => string;
}

/**
 * Opens a netfilter socket and sends its configuration messages of `type` in order (bind
 * first); on a failure the socket is closed and the error is worded by `words`.
 */
export async function bindNetfilter(
  options: SocketOptions,
  type: number,
  steps: readonly { readonly what: string; readonly body: Buffer }[],
  words: BindWords,
): Promise<NetlinkSocket> {
  let socket: NetlinkSocket;
  try {
    socket = openNetfilterSocket(options);
  } catch (cause) {
    throw words.error(`cannot open a netfilter netlink socket (root needed): ${String(cause)}`, { cause });
  }
  for (const step of steps) {
    try {
      await configure(socket, type, step.body);
    } catch (cause) {
      socket.close();
      // the kernel answers EPERM (or EBUSY) when another socket already holds the group or queue
      const busy = /EPERM|EBUSY/.test(String(cause));
      throw words.error(busy ? words.busy : `${words.failed(step.what)}: ${String(cause)}`, { cause });
    }
  }
  return socket;
}
