import { EventEmitter } from 'node:events';
import {
  configCommand,
  configCopyMode,
  decodePacket,
  type LoggedPacket,
  NFULNL_CFG_CMD_BIND,
  NFULNL_MSG_CONFIG,
  NFULNL_MSG_PACKET,
} from './nflog-codec.js';
import { bindNetfilter } from './socket.js';
import { SesameError } from '../core/sesame-error.js';

/** Something that delivers logged packets; the daemon only needs this much. */
export interface PacketSource extends EventEmitter {
  on(event: 'packet', listener: (p: LoggedPacket) => void): this;
  on(event: 'invalid', listener: (reason: string) => void): this;
  /** The kernel dropped messages: the socket's receive buffer overflowed (ENOBUFS). */
  on(event: 'overrun', listener: () => void): this;
  close(): void;
}

/** Thrown when the NFLOG group can't be bound, usually because another sesame holds it. */
export class NflogBindError extends SesameError {
  static override readonly code = 'E_NFLOG';
  override readonly name = 'NflogBindError';
}

/**
 * Reads NFLOG group `group` over netlink. The kernel delivers one message per logged
 * packet; malformed ones are reported as 'invalid' and the socket keeps running.
 * `copyRange` bytes of each packet are copied (headers only by default; more to read payloads).
 */
export async function openNflog(group: number, copyRange = 128): Promise<PacketSource> {
  const emitter = new EventEmitter() as PacketSource;
  const socket = await bindNetfilter(
    { ref: true, recvBufferSize: 4 << 20, sendBufferSize: 65536 },
    NFULNL_MSG_CONFIG,
    [
      { what: 'bind', body: configCommand(group, NFULNL_CFG_CMD_BIND) },
      { what: 'copy mode', body: configCopyMode(group, copyRange) },
    ],
    {
      error: (message, options) => new NflogBindError(message, options),
      busy: `NFLOG group ${group} is in use: is another sesame (or ulogd) running in this network namespace?`,
      failed: (what) => `NFLOG ${what} for group ${group} failed`,
    },
  );
  relayNflog(socket, emitter);
  emitter.close = () => socket.close();
  return emitter;
}

/** The socket events openNflog relays (a fake socket stands in for it in unit tests). */
export interface NflogSocketEvents {
  on(event: 'message', listener: (msgs: { type: number; data: Buffer }[]) => void): unknown;
  on(event: 'invalid', listener: (err: unknown) => void): unknown;
  on(event: 'error', listener: (err: Error & { code?: string }) => void): unknown;
}

/**
 * Turns netlink socket events into packets, 'invalid' for what can't be decoded, and
 * 'overrun' when the kernel dropped messages because the receive buffer was full (recvmsg
 * fails with ENOBUFS once, then delivery goes on): that must be told apart and logged, it
 * means lost events, not a bad packet.
 */
export function relayNflog(socket: NflogSocketEvents, emitter: PacketSource): void {
  socket.on('message', (msgs) => {
    for (const m of msgs) {
      if (m.type !== NFULNL_MSG_PACKET) continue;
      const packet = decodePacket(m.data);
      if (packet) emitter.emit('packet', packet);
      else emitter.emit('invalid', 'undecodable NFLOG packet message');
    }
  });
  socket.on('invalid', (err) => emitter.emit('invalid', String(err)));
  socket.on('error', (err) => {
    if (err.code === 'ENOBUFS') emitter.emit('overrun');
    else emitter.emit('invalid', `netlink error: ${err.message}`);
  });
}
