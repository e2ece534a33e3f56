import { createSocket } from 'node:dgram';
import { request } from 'node:http';
import { connect, isIP } from 'node:net';
import { lookup } from 'node:dns/promises';

/**
 * Sends an SPA packet the way the fwknop client does: one UDP datagram (`-P udp`, port
 * 62201), a TCP connection carrying it (`-P tcp`), or `GET /<packet>` with `+` and `/`
 * written as `-` and `_` (`-P http`, port 80).
 */

export type SpaProto = 'udp' | 'tcp' | 'http';

export const DEFAULT_PORT: Record<SpaProto, number> = { udp: 62201, tcp: 62201, http: 80 };

/** The address and family HOST resolves to (`-4`/`-6` pick one). */
export async function resolveHost(host: string, family?: 4 | 6): Promise<{ address: string; family: 4 | 6 }> {
  const ip = isIP(host);
  if (ip) return { address: host, family: ip as 4 | 6 };
  const r = await lookup(host, family ? { family } : {});
  return { address: r.address, family: r.family as 4 | 6 };
}

/** The local address this host would send from to reach `address` (no packet is sent). */
export function sourceAddressFor(address: string, family: 4 | 6): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket(family === 6 ? 'udp6' : 'udp4');
    s.once('error', (err) => {
      s.close();
      reject(err);
    });
    s.connect(9, address, () => {
      const local = s.address().address;
      s.close();
      resolve(local);
    });
  });
}

/**
 * One datagram, then up to `ackWaitMs` for sesame's answer, which comes only for an accepted
 * packet and only once its grant is in the kernel (fwknopd never answers). True when it came.
 */
export async function sendUdpAcked(
  packet: string | Uint8Array,
  address: string,
  port: number,
  ackWaitMs = 500,
): Promise<boolean> {
  const s = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
  try {
    const acked = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ackWaitMs);
      s.on('message', (_m, rinfo) => {
        if (rinfo.address === address) {
          clearTimeout(timer);
          resolve(true);
        }
      });
    });
    await new Promise<void>((resolve, reject) =>
      s.send(packet, port, address, (err) => (err ? reject(err) : resolve())),
    );
    return await acked;
  } finally {
    s.close();
  }
}

export async function sendSpa(
  packet: string | Uint8Array,
  address: string,
  port: number,
  proto: SpaProto,
  host = address,
  ackWaitMs = 500,
): Promise<string> {
  if (proto === 'udp') {
    const ok = await sendUdpAcked(packet, address, port, ackWaitMs);
    return `sent ${packet.length} bytes to ${address} udp/${port}${ok ? ', granted' : ''}`;
  }
  if (proto === 'tcp') {
    await new Promise<void>((resolve, reject) => {
      const sock = connect({ host: address, port }, () => sock.end(packet));
      sock.setTimeout(5000, () => sock.destroy(new Error(`tcp ${address}:${port}: timed out`)));
      sock.on('error', reject);
      sock.on('close', () => resolve());
      sock.resume();
    });
    return `sent ${packet.length} bytes to ${address} tcp/${port}`;
  }
  if (typeof packet !== 'string') throw new TypeError('a binary packet goes over udp or tcp');
  const path = `/${packet.replace(/\+/g, '-').replace(/\//g, '_')}`;
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(
      { host: address, port, path, method: 'GET', headers: { 'User-Agent': 'Fwknop/sesame', Host: host } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error(`http ${address}:${port}: timed out`)));
    req.on('error', reject);
    req.end();
  });
  return `sent to http://${host}:${port}/ (HTTP ${status})`;
}
