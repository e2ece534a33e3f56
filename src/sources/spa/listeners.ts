import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, isIP, type Server as TcpServer, type Socket } from 'node:net';
import type { SpaListen } from '../../core/door.js';
import { clientKey } from '../http/rate-limit.js';
import { plainIp } from '../../core/spa/admit.js';
import { MAX_SIGNED_BYTES } from '../../core/spa/signed-packet.js';
import type { SpaOutcome, SpaTransport } from './receiver.js';

/**
 * The sockets SPA packets arrive on: fwknop's `-P udp` (a datagram holding the packet),
 * `-P tcp` (a connection carrying it, then closed) and `-P http` (`GET /<packet>` with
 * `+` and `/` written as `-` and `_`). Plain sockets, no packet capture.
 */

export type Receive = (
  data: Uint8Array | string,
  peer: string,
  local: string | undefined,
  via: SpaTransport,
) => Promise<SpaOutcome>;

/** More than any SPA packet (fwknop's 1500, a signed one's 4096); what a TCP connection may send before it is cut. */
const MAX_TCP_BYTES = MAX_SIGNED_BYTES + 16;
const TCP_IDLE_MS = 3000;

/**
 * What a connection may hold (TCP and HTTP listeners): connections open at once in all and per
 * source (IPv4 address, IPv6 /64), and how long one may take to deliver its packet however
 * slowly it sends (an idle timeout alone is reset by one byte every few seconds).
 */
export interface ConnectionLimits {
  readonly maxConnections: number;
  readonly maxPerSource: number;
  readonly readDeadlineMs: number;
}

export const CONNECTION_LIMITS: ConnectionLimits = { maxConnections: 512, maxPerSource: 8, readDeadlineMs: 5000 };
/** The UDP answer to an accepted packet. */
export const UDP_ACK = 'sesame spa ok\n';

export interface SpaListeners {
  /** Bound ports (useful when 0 was asked for, in tests). */
  readonly ports: { udp?: number; tcp?: number; http?: number };
  close(): Promise<void>;
}

export async function startSpaListeners(
  listen: SpaListen,
  receive: Receive,
  onError: (what: string, err: Error) => void,
  limits: ConnectionLimits = CONNECTION_LIMITS,
): Promise<SpaListeners> {
  const closers: (() => Promise<void>)[] = [];
  const ports: { udp?: number; tcp?: number; http?: number } = {};
  const host = listen.host;
  try {
    if (listen.udp !== null) {
      const s = await udp(listen.udp, host, receive, onError);
      ports.udp = s.address().port;
      closers.push(() => new Promise((r) => s.close(() => r())));
    }
    if (listen.tcp !== null) {
      const s = tcp(receive, onError, limits);
      ports.tcp = await listenOn(s, listen.tcp, host);
      closers.push(() => closeServer(s));
    }
    if (listen.http !== null) {
      const s = http(receive, onError, limits);
      ports.http = await listenOn(s, listen.http, host);
      closers.push(() => closeServer(s));
    }
  } catch (err) {
    await Promise.all(closers.map((c) => c()));
    throw err;
  }
  return { ports, close: async () => void (await Promise.all(closers.map((c) => c()))) };
}

/** One dual-stack socket on `::` (IPv4 arrives as ::ffff:a.b.c.d), or one of the host's family. */
function udp(
  port: number,
  host: string | undefined,
  receive: Receive,
  onError: (what: string, err: Error) => void,
): Promise<UdpSocket> {
  const v6 = host === undefined || isIP(host) === 6;
  const s = createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: false });
  s.on('message', (msg, rinfo) => {
    void receive(msg, rinfo.address, host, 'udp').then((r) => {
      // after the grant is in the kernel: a client that waits for this connects at once
      // (sesame's does; fwknop's doesn't listen). Never sent for a refusal, and smaller
      // than any packet it answers, so it can't be used to reflect or amplify.
      if (r.ok) s.send(UDP_ACK, rinfo.port, rinfo.address, () => {});
    });
  });
  s.on('error', (err) => onError('udp', err));
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, host ?? '::', () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

/**
 * Admits a new connection or destroys it at once: past the total or its source's share, and
 * at its read deadline. Returns false for a connection that was destroyed.
 */
function connectionGuard(limits: ConnectionLimits): (sock: Socket) => boolean {
  const perSource = new Map<string, number>();
  let open = 0;
  return (sock) => {
    const source = clientKey(plainIp(sock.remoteAddress ?? ''));
    const mine = perSource.get(source) ?? 0;
    if (open >= limits.maxConnections || mine >= limits.maxPerSource) {
      sock.destroy();
      return false;
    }
    open++;
    perSource.set(source, mine + 1);
    const deadline = setTimeout(() => sock.destroy(), limits.readDeadlineMs);
    sock.once('close', () => {
      clearTimeout(deadline);
      open--;
      const left = (perSource.get(source) ?? 1) - 1;
      if (left > 0) perSource.set(source, left);
      else perSource.delete(source);
    });
    return true;
  };
}

function tcp(receive: Receive, onError: (what: string, err: Error) => void, limits: ConnectionLimits): TcpServer {
  const admit = connectionGuard(limits);
  return createTcpServer((sock) => {
    if (!admit(sock)) return;
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const peer = sock.remoteAddress ?? '';
      void receive(Buffer.concat(chunks), peer, sock.localAddress, 'tcp').finally(() => sock.end());
    };
    sock.setTimeout(TCP_IDLE_MS, () => (size > 0 ? finish() : sock.destroy()));
    sock.on('data', (d) => {
      size += d.length;
      if (size > MAX_TCP_BYTES) {
        chunks.push(d.subarray(0, 1)); // too long: refused as such
        return finish();
      }
      chunks.push(d);
    });
    sock.on('end', finish);
    sock.on('error', () => sock.destroy());
  }).on('error', (err) => onError('tcp', err));
}

/** The packet in a `GET /<packet>` request line (also the proxy form `GET http://host/<packet>`). */
export function packetFromUrl(url: string): string {
  let path = url;
  const abs = /^https?:\/\/[^/]*(\/.*)?$/i.exec(path);
  if (abs) path = abs[1] ?? '/';
  path = path.slice(1).split(/[?#]/)[0];
  return path.replace(/-/g, '+').replace(/_/g, '/');
}

function http(receive: Receive, onError: (what: string, err: Error) => void, limits: ConnectionLimits): HttpServer {
  const server = createHttpServer({ maxHeaderSize: 8192, requestTimeout: 5000 }, (req, res) => {
    const reply = (code: number, text: string) => {
      res.writeHead(code, { 'content-type': 'text/plain', connection: 'close' });
      res.end(`${text}\n`);
    };
    if (req.method !== 'GET' || !req.url) return reply(405, 'GET /<SPA packet>');
    const peer = req.socket.remoteAddress ?? '';
    void receive(packetFromUrl(req.url), peer, req.socket.localAddress, 'http').then((r) =>
      // answered after the grant is in the kernel
      r.ok ? reply(200, 'ok') : reply(403, 'refused'),
    );
  });
  const admit = connectionGuard(limits);
  server.on('connection', (sock: Socket) => void admit(sock));
  server.on('error', (err) => onError('http', err));
  server.on('clientError', (_err, sock) => sock.destroy());
  return server;
}

function listenOn(server: TcpServer | HttpServer, port: number, host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: host ?? '::', ipv6Only: false }, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
}

function closeServer(server: TcpServer | HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    if ('closeAllConnections' in server) server.closeAllConnections();
  });
}
