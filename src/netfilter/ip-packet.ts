/**
 * The few facts sesame reads from a packet the kernel hands over (NFLOG, NFQUEUE): family,
 * source, protocol, destination port, and the TCP/UDP payload. Pure.
 */
export interface IpPacket {
  readonly family: 4 | 6;
  readonly source: string;
  readonly protocol: number;
  readonly destPort: number | null;
  /** TCP/UDP payload bytes (as far as the copy range reached); empty for other protocols. */
  readonly data?: Buffer;
}

/** Null when the bytes don't start with a whole IPv4 or IPv6 header. */
export function parseIpPacket(payload: Buffer): IpPacket | null {
  if (payload.length < 1) return null;
  const version = payload[0] >> 4;
  if (version === 4 && payload.length >= 20) {
    const ihl = (payload[0] & 0x0f) * 4;
    const protocol = payload[9];
    return {
      family: 4,
      source: [...payload.subarray(12, 16)].join('.'),
      protocol,
      destPort: portAt(payload, ihl, protocol),
      data: l4Data(payload, ihl, protocol),
    };
  }
  if (version === 6 && payload.length >= 40) {
    const protocol = payload[6];
    return {
      family: 6,
      source: formatIpv6(payload.subarray(8, 24)),
      protocol,
      destPort: portAt(payload, 40, protocol),
      data: l4Data(payload, 40, protocol),
    };
  }
  return null;
}

function portAt(packet: Buffer, l4: number, protocol: number): number | null {
  if ((protocol === 6 || protocol === 17) && packet.length >= l4 + 4) return packet.readUInt16BE(l4 + 2);
  return null;
}

/** The bytes after the TCP header (data offset) or the UDP header. IPv6 extension headers: none. */
function l4Data(packet: Buffer, l4: number, protocol: number): Buffer {
  if (protocol === 17) return packet.subarray(Math.min(packet.length, l4 + 8));
  if (protocol !== 6 || packet.length < l4 + 13) return Buffer.alloc(0);
  return packet.subarray(Math.min(packet.length, l4 + (packet[l4 + 12] >> 4) * 4));
}

/** RFC 5952 text form (lowercase, longest zero run compressed). */
export function formatIpv6(bytes: Buffer): string {
  const words = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
