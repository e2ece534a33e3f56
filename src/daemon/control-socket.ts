import { chmodSync, lstatSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Daemon } from './daemon.js';
import {
  type ControlReply,
  type ControlRequest,
  MAX_REQUEST_BYTES,
  parseControlReply,
  parseControlRequest,
} from './control-protocol.js';
import type { Clock, Logger } from '../core/contracts.js';

/** What the control socket asks of the daemon. Errors thrown here go back to the client as text. */
export interface ControlHandler {
  grant(door: string, address: string, forMs?: number): Promise<{ expiresAt: number }>;
  revoke(door: string, address: string): Promise<boolean>;
}

/** A client waits this long for the daemon's answer (a firewall queue backed up behind a reload). */
const CLIENT_TIMEOUT_MS = 10_000;
/** A connection that hasn't sent its line by then is closed. */
const SERVER_IDLE_MS = 5_000;

/**
 * Listens on `path` (a unix socket in the state dir, mode 0600: only root may grant). One
 * request per connection. Bad requests are answered with the reason and logged; they never
 * reach the handler.
 */
export async function serveControl(path: string, handler: ControlHandler, logger: Logger): Promise<Server> {
  // a socket file left by a daemon that was killed; the NFLOG bind already proved no other runs
  if (lstatSync(path, { throwIfNoEntry: false })?.isSocket()) rmSync(path);
  const server = createServer((socket) => handle(socket, handler, logger));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  server.on('error', (err) => logger.log('error', 'control-socket-failed', { path, reason: err.message }));
  return server;
}

function handle(socket: Socket, handler: ControlHandler, logger: Logger): void {
  let buffer = '';
  let answered = false;
  socket.setTimeout(SERVER_IDLE_MS, () => socket.destroy());
  socket.on('error', () => {});
  const reply = (r: ControlReply) => {
    answered = true;
    socket.end(`${JSON.stringify(r)}\n`);
  };
  socket.on('data', (d) => {
    if (answered) return;
    buffer += d;
    const nl = buffer.indexOf('\n');
    if (nl < 0 && buffer.length <= MAX_REQUEST_BYTES) return;
    const request = parseControlRequest(nl < 0 ? buffer : buffer.slice(0, nl));
    if (typeof request === 'string') {
      logger.log('warn', 'control-refused', { reason: request });
      reply({ ok: false, error: request });
      return;
    }
    answered = true;
    run(request, handler).then(reply, (err) => reply({ ok: false, error: String((err as Error)?.message ?? err) }));
  });
}

async function run(r: ControlRequest, handler: ControlHandler): Promise<ControlReply> {
  if (r.op === 'grant') return { ok: true, ...(await handler.grant(r.door, r.address, r.forMs)) };
  return { ok: true, had: await handler.revoke(r.door, r.address) };
}

/**
 * Sends one request to the daemon at `path`. Resolves null when no daemon listens there
 * (no socket file, or a stale one nobody accepts on): the caller then edits the kernel itself.
 */
export function sendControl(path: string, request: ControlRequest): Promise<ControlReply | null> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the daemon at ${path} did not answer within ${CLIENT_TIMEOUT_MS / 1000} s`));
    }, CLIENT_TIMEOUT_MS);
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (d) => {
      data += d;
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') resolve(null);
      else reject(err);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(parseControlReply(data.trim()));
      } catch {
        reject(new Error(`the daemon at ${path} sent a malformed reply: ${JSON.stringify(data.slice(0, 200))}`));
      }
    });
  });
}

/** The daemon's side: manual grants go through its grant API (queue, log, `run` commands). */
export function daemonControl(daemon: Daemon, now: Clock = Date.now): ControlHandler {
  const door = (name: string) => {
    const d = daemon.door(name);
    if (!d) throw new Error(`no door "${name}" in the running config`);
    return d;
  };
  return {
    async grant(name, address, forMs) {
      const d = door(name);
      await daemon.grant(d, address, { via: 'manual', ...(forMs ? { forMs } : {}) });
      return { expiresAt: now() + (forMs ?? d.forMs) };
    },
    revoke: (name, address) => daemon.revoke(door(name), address),
  };
}
