import { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { SesameError } from '../core/sesame-error.js';

/**
 * The client side of shared-port doors, and the relay that makes `sesame knock` usable as
 * ssh's ProxyCommand: knock (send the secret as the first bytes of a connection, which the
 * server resets), then open a second connection and relay stdin/stdout over it.
 */

/** How the server answered a shared-port knock. `reset` means the kernel took the secret. */
export type KnockAnswer = 'reset' | 'closed' | 'timeout' | 'refused' | 'unreachable';

/** Sends `payload` as the first bytes of a TCP connection and waits for the server's answer. */
export function sendSharedKnock(
  address: string,
  port: number,
  payload: Uint8Array,
  timeoutMs = 3000,
  localAddress?: string,
): Promise<KnockAnswer> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (answer: KnockAnswer) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.setNoDelay(true);
    socket.on('error', (err: NodeJS.ErrnoException) =>
      done(err.code === 'ECONNRESET' ? 'reset' : err.code === 'ECONNREFUSED' ? 'refused' : 'unreachable'),
    );
    // anything but a reset (the site answering, or closing) means the secret was not taken
    socket.on('data', () => done('closed'));
    socket.on('close', () => done('closed'));
    socket.connect({ host: address, port, localAddress }, () => socket.write(payload));
  });
}

export interface RelayOptions {
  readonly input: Readable;
  readonly output: Writable;
  /**
   * Bytes the service sends first (`SSH-` for sshd). When set, a connection that doesn't start
   * with them (the HTTPS site: it waits for the client) is dropped and retried, and nothing
   * from `input` is sent before they arrived.
   */
  readonly banner?: string | null;
  readonly bannerTimeoutMs?: number;
  readonly attempts?: number;
  readonly retryDelayMs?: number;
  readonly localAddress?: string;
  readonly verbose?: (line: string) => void;
}

/** Thrown when no connection reached the expected service. */
export class RelayError extends SesameError {
  static override readonly code = 'E_RELAY';
  override readonly name = 'RelayError';
}

/** Connects to address:port and relays `input`/`output` until the connection closes. */
export async function connectAndRelay(address: string, port: number, opts: RelayOptions): Promise<void> {
  const attempts = opts.banner ? (opts.attempts ?? 3) : 1;
  let last = '';
  for (let i = 1; i <= attempts; i++) {
    if (i > 1) await sleep(opts.retryDelayMs ?? 200);
    const { socket, first, problem } = await open(address, port, opts);
    if (socket) return relay(socket, first, opts);
    last = problem;
    opts.verbose?.(`attempt ${i}/${attempts}: ${problem}`);
  }
  throw new RelayError(`${address}:${port}: ${last}`);
}

function open(
  address: string,
  port: number,
  opts: RelayOptions,
): Promise<{ socket: Socket | null; first: Buffer; problem: string }> {
  const banner = opts.banner ? Buffer.from(opts.banner) : null;
  return new Promise((resolve) => {
    const socket = new Socket();
    let first = Buffer.alloc(0);
    let timer: NodeJS.Timeout | undefined;
    const finish = (ok: boolean, problem = '') => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
      if (!ok) socket.destroy();
      else socket.pause();
      resolve({ socket: ok ? socket : null, first, problem });
    };
    socket.setNoDelay(true);
    socket.on('error', (err) => finish(false, `connect failed: ${err.message}`));
    socket.on('close', () => finish(false, 'closed before the service spoke'));
    socket.connect({ host: address, port, localAddress: opts.localAddress }, () => {
      if (!banner) return finish(true);
      timer = setTimeout(
        () =>
          finish(
            false,
            `no "${opts.banner}" banner within ${opts.bannerTimeoutMs ?? 2000} ms: not redirected (wrong secret, or the door's time ran out?)`,
          ),
        opts.bannerTimeoutMs ?? 2000,
      );
      socket.on('data', (d: Buffer) => {
        first = Buffer.concat([first, d]);
        const n = Math.min(first.length, banner.length);
        if (!first.subarray(0, n).equals(banner.subarray(0, n)))
          finish(false, 'the service answered without the expected banner');
        else if (first.length >= banner.length) finish(true);
      });
    });
  });
}

/** Pipes both ways; resolves when the connection is closed. Half-close is passed on. */
function relay(socket: Socket, first: Buffer, opts: RelayOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    if (first.length) opts.output.write(first);
    socket.pipe(opts.output, { end: false });
    opts.input.pipe(socket);
    socket.on('error', (err) => reject(new RelayError(`connection lost: ${err.message}`, { cause: err })));
    socket.on('close', () => {
      opts.input.unpipe(socket);
      opts.input.pause();
      resolve();
    });
    socket.resume();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
