import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP, Socket } from 'node:net';
import type { PortSpec } from '../core/door.js';
import { formatPort } from '../core/door.js';

export interface KnockOptions {
  /** Pause between knocks, ms (knockd's `-d`). */
  readonly delayMs?: number;
  readonly family?: 4 | 6;
  /** Source address to send from (a client with several addresses, e.g. the benchmarks). */
  readonly localAddress?: string;
  readonly verbose?: (line: string) => void;
}

/** Resolves HOST to one address of the wanted family. */
export async function resolveHost(host: string, family?: 4 | 6): Promise<{ address: string; family: 4 | 6 }> {
  const literal = isIP(host);
  if (literal) {
    if (family && literal !== family) throw new Error(`${host} is not an IPv${family} address`);
    return { address: host, family: literal as 4 | 6 };
  }
  const r = await lookup(host, { family: family ?? 0 });
  return { address: r.address, family: r.family as 4 | 6 };
}

/**
 * Sends one knock per port, in order: a TCP SYN (a connect that is abandoned at once) or
 * an empty UDP datagram. Needs no privileges. Resolves when every knock has left.
 */
export async function knock(host: string, ports: readonly PortSpec[], opts: KnockOptions = {}): Promise<void> {
  const target = await resolveHost(host, opts.family);
  const pending: Socket[] = [];
  try {
    for (const [i, p] of ports.entries()) {
      if (i > 0 && opts.delayMs) await sleep(opts.delayMs);
      opts.verbose?.(`hitting ${p.proto} ${target.address}:${p.port}`);
      if (p.proto === 'tcp') pending.push(await sendSyn(target.address, p.port, opts.localAddress));
      else await sendDatagram(target.address, target.family, p.port, opts.localAddress);
    }
  } finally {
    for (const s of pending) s.destroy();
  }
  opts.verbose?.(`knocked ${ports.map(formatPort).join(' ')} on ${target.address}`);
}

/**
 * connect() sends the SYN inside the syscall, so once the socket reports its local port the
 * knock is on the wire; we never wait for an answer (a dropped knock port gives none).
 */
function sendSyn(address: string, port: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.on('error', () => {}); // refused or reset: the knock was still seen
    socket.connect({ host: address, port, localAddress });
    const poll = () => (socket.localPort !== undefined || socket.destroyed ? resolve(socket) : setImmediate(poll));
    setImmediate(poll);
  });
}

function sendDatagram(address: string, family: 4 | 6, port: number, localAddress?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(family === 4 ? 'udp4' : 'udp6');
    socket.once('error', reject);
    const send = () =>
      socket.send(Buffer.alloc(0), port, address, (err) => {
        socket.close();
        if (err) reject(err);
        else resolve();
      });
    if (localAddress) socket.bind({ address: localAddress }, send);
    else send();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
