import { EventEmitter } from 'node:events';
import {
  decodeQueued,
  NFQNL_CFG_CMD_BIND,
  NFQNL_MSG_CONFIG,
  NFQNL_MSG_PACKET,
  NFQNL_MSG_VERDICT,
  type QueuedPacket,
  queueCommand,
  queueParams,
  verdictBody,
} from './nfqueue-codec.js';
import { NLM_F_REQUEST } from './nfnetlink.js';
import { bindNetfilter } from './socket.js';
import { SesameError } from '../core/sesame-error.js';

/** Packets the kernel holds for a verdict; every one must get exactly one. */
export interface PacketQueue extends EventEmitter {
  on(event: 'packet', listener: (p: QueuedPacket) => void): this;
  /** A queued message without a readable IP header: it was dropped at once. */
  on(event: 'invalid', listener: (reason: string) => void): this;
  verdict(id: number, accept: boolean): void;
  close(): void;
}

/** The queue can't be bound, usually because another program holds it. */
export class QueueBindError extends SesameError {
  static override readonly code = 'E_NFQUEUE';
  override readonly name = 'QueueBindError';
}

/**
 * Binds NFQUEUE `queue` in this network namespace. While bound, packets a rule sends to the
 * queue wait in the kernel for verdict(); unbound (sesame stopped or died), the kernel drops
 * them, so a held packet never passes without sesame's say.
 */
export async function openQueue(queue: number, maxlen = 1024): Promise<PacketQueue> {
  const socket = await bindNetfilter(
    { ref: false, recvBufferSize: 1 << 20, sendBufferSize: 1 << 16 },
    NFQNL_MSG_CONFIG,
    [
      { what: 'bind', body: queueCommand(queue, NFQNL_CFG_CMD_BIND) },
      { what: 'copy mode', body: queueParams(queue, 128, maxlen) },
    ],
    {
      error: (message, options) => new QueueBindError(message, options),
      busy: `NFQUEUE ${queue} is in use: is another sesame (or an IPS) running in this network namespace?`,
      failed: (what) => `NFQUEUE ${what} for queue ${queue} failed`,
    },
  );

  const emitter = new EventEmitter() as PacketQueue;
  const verdict = (id: number, accept: boolean) =>
    socket.send(NFQNL_MSG_VERDICT, verdictBody(queue, id, accept ? 1 : 0), { flags: NLM_F_REQUEST });
  socket.on('message', (msgs) => {
    for (const m of msgs) {
      if (m.type !== NFQNL_MSG_PACKET) continue;
      const q = decodeQueued(m.data);
      if (!q) emitter.emit('invalid', 'queued packet without an id');
      else if (!q.packet) {
        verdict(q.id, false);
        emitter.emit('invalid', 'queued packet without a readable IP header');
      } else emitter.emit('packet', q.packet);
    }
  });
  socket.on('error', (err) => emitter.emit('invalid', `netlink error: ${err.message}`));
  socket.ref();
  emitter.verdict = verdict;
  emitter.close = () => socket.close();
  return emitter;
}
