import { isIP } from 'node:net';
import type { PortSpec } from '../port-spec.js';

/**
 * sesame's own SPA packet, signed with a public-key scheme (docs/spa.md has it byte by byte):
 *
 *   magic 5E 5A | version 01 | scheme (01 ed25519, 02 SSHSIG) | timestamp (uint64 ms)
 *   | nonce (16) | user (len + UTF-8) | door (len + ASCII, 0 = any) | address (family 0/4/6 + bytes)
 *   | lifetime (uint16 s, 0 = the door's) | ports (count + proto, uint16 port each)
 *   | signature (uint16 len + bytes)
 *
 * Everything before the signature is what is signed. The first byte can't start an fwknop
 * packet (base64 text), so one listener tells the two apart by it. Pure: decoding never
 * throws; every refusal has a reason.
 */

export const SIGNED_MAGIC = [0x5e, 0x5a] as const;
export const SIGNED_VERSION = 1;
/** Beyond this a packet is refused unread (an RSA 8192 SSHSIG is about 2,200 bytes). */
export const MAX_SIGNED_BYTES = 4096;
export const MAX_USER_BYTES = 64;
export const MAX_DOOR_BYTES = 24;
export const MAX_PORTS = 16;
export const NONCE_BYTES = 16;

export type SignedScheme = 'ed25519' | 'sshsig';
const SCHEME_BYTE: Record<SignedScheme, number> = { ed25519: 1, sshsig: 2 };
const PROTO_BYTE = { tcp: 6, udp: 17 } as const;

export interface SignedRequest {
  readonly scheme: SignedScheme;
  /** Unix ms when the client made the packet. */
  readonly timestampMs: number;
  readonly nonce: Uint8Array;
  readonly user: string;
  /** The door to open; '' = the first door the user may use that has these ports. */
  readonly door: string;
  /** The address to open; null = the address the packet came from. */
  readonly address: string | null;
  /** Seconds asked for; 0 = the door's `for`. */
  readonly lifetimeS: number;
  readonly ports: readonly PortSpec[];
}

export interface SignedPacket extends SignedRequest {
  /** The bytes the signature covers (also the replay key's source). */
  readonly signed: Uint8Array;
  readonly signature: Uint8Array;
}

/** True when `data` starts like a sesame packet (and so is no fwknop packet). */
export function looksSigned(data: Uint8Array | string): boolean {
  if (typeof data === 'string') return data.charCodeAt(0) === SIGNED_MAGIC[0] && data.charCodeAt(1) === SIGNED_MAGIC[1];
  return data.length >= 2 && data[0] === SIGNED_MAGIC[0] && data[1] === SIGNED_MAGIC[1];
}

/** The signed part for `r` (what the client signs). Throws on a request it can't encode. */
export function encodeSignedRequest(r: SignedRequest): Buffer {
  const user = Buffer.from(r.user, 'utf8');
  const door = Buffer.from(r.door, 'latin1');
  if (user.length < 1 || user.length > MAX_USER_BYTES)
    throw new RangeError(`user name is ${user.length} bytes (1..${MAX_USER_BYTES})`);
  if (door.length > MAX_DOOR_BYTES) throw new RangeError(`door name is ${door.length} bytes (0..${MAX_DOOR_BYTES})`);
  if (r.nonce.length !== NONCE_BYTES) throw new RangeError(`nonce is ${r.nonce.length} bytes (${NONCE_BYTES})`);
  if (r.ports.length < 1 || r.ports.length > MAX_PORTS)
    throw new RangeError(`${r.ports.length} ports (1..${MAX_PORTS})`);
  if (!Number.isInteger(r.lifetimeS) || r.lifetimeS < 0 || r.lifetimeS > 0xffff)
    throw new RangeError('lifetime out of 0..65535 s');
  const head = Buffer.alloc(12);
  head.set(SIGNED_MAGIC, 0);
  head[2] = SIGNED_VERSION;
  head[3] = SCHEME_BYTE[r.scheme];
  head.writeBigUInt64BE(BigInt(Math.floor(r.timestampMs)), 4);
  const ports = Buffer.alloc(1 + 3 * r.ports.length + 2);
  ports.writeUInt16BE(r.lifetimeS, 0);
  ports[2] = r.ports.length;
  r.ports.forEach((p, i) => {
    ports[3 + 3 * i] = PROTO_BYTE[p.proto];
    ports.writeUInt16BE(p.port, 4 + 3 * i);
  });
  return Buffer.concat([
    head,
    r.nonce,
    Buffer.from([user.length]),
    user,
    Buffer.from([door.length]),
    door,
    encodeAddress(r.address),
    ports.subarray(0, 2 + 1 + 3 * r.ports.length),
  ]);
}

/** The whole packet: the signed part, then the signature. */
export function encodeSignedPacket(signed: Uint8Array, signature: Uint8Array): Buffer {
  if (signature.length > 0xffff) throw new RangeError('signature too long');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(signature.length);
  const out = Buffer.concat([signed, len, signature]);
  if (out.length > MAX_SIGNED_BYTES)
    throw new RangeError(`packet is ${out.length} bytes (at most ${MAX_SIGNED_BYTES})`);
  return out;
}

function encodeAddress(address: string | null): Buffer {
  if (address === null) return Buffer.from([0]);
  const f = isIP(address);
  if (f === 4) return Buffer.from([4, ...address.split('.').map(Number)]);
  if (f === 6) return Buffer.concat([Buffer.from([6]), ipv6Bytes(address)]);
  throw new RangeError(`not an address: ${address}`);
}

function ipv6Bytes(address: string): Buffer {
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1].split('.').map(Number);
    text = text.slice(0, -v4[1].length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [l, r] = text.split('::');
  const left = l ? l.split(':') : [];
  const right = r !== undefined && r !== '' ? r.split(':') : [];
  const groups = r === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 2 * i));
  return out;
}

function ipv6Text(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  // the canonical short form (longest run of zero groups as ::), as node prints addresses
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export type DecodeResult = { ok: true; packet: SignedPacket } | { ok: false; detail: string };

/** Reads a received packet; structure only (nothing is verified here). Never throws. */
export function decodeSignedPacket(data: Uint8Array): DecodeResult {
  const fail = (detail: string): DecodeResult => ({ ok: false, detail });
  if (data.length > MAX_SIGNED_BYTES) return fail(`${data.length} bytes, more than ${MAX_SIGNED_BYTES}`);
  if (!looksSigned(data)) return fail('no sesame magic');
  const b = Buffer.from(data.buffer, data.byteOffset, data.length);
  let at = 2;
  const need = (n: number) => at + n <= b.length;
  if (!need(10 + NONCE_BYTES)) return fail(`truncated: ${b.length} bytes`);
  if (b[at] !== SIGNED_VERSION) return fail(`version ${b[at]} (this sesame reads ${SIGNED_VERSION})`);
  const schemeByte = b[at + 1];
  const scheme = schemeByte === 1 ? 'ed25519' : schemeByte === 2 ? 'sshsig' : null;
  if (!scheme) return fail(`signature scheme ${schemeByte} unknown`);
  const ts = b.readBigUInt64BE(at + 2);
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) return fail('timestamp out of range');
  at += 10;
  const nonce = b.subarray(at, at + NONCE_BYTES);
  at += NONCE_BYTES;
  const field = (min: number, max: number, what: string): Buffer | string => {
    if (!need(1)) return `truncated before the ${what}`;
    const n = b[at];
    if (n < min || n > max) return `${what} of ${n} bytes (${min}..${max})`;
    if (!need(1 + n)) return `truncated in the ${what}`;
    const v = b.subarray(at + 1, at + 1 + n);
    at += 1 + n;
    return v;
  };
  const userBytes = field(1, MAX_USER_BYTES, 'user name');
  if (typeof userBytes === 'string') return fail(userBytes);
  const user = userBytes.toString('utf8');
  if (!Buffer.from(user, 'utf8').equals(userBytes) || /[\p{C}\s]/u.test(user))
    return fail('user name is not printable UTF-8');
  const doorBytes = field(0, MAX_DOOR_BYTES, 'door name');
  if (typeof doorBytes === 'string') return fail(doorBytes);
  const door = doorBytes.toString('latin1');
  if (!/^[A-Za-z0-9_-]*$/.test(door)) return fail('door name has characters no door name has');
  if (!need(1)) return fail('truncated before the address');
  const family = b[at++];
  let address: string | null;
  if (family === 0) address = null;
  else if (family === 4) {
    if (!need(4)) return fail('truncated in the address');
    address = [...b.subarray(at, at + 4)].join('.');
    at += 4;
  } else if (family === 6) {
    if (!need(16)) return fail('truncated in the address');
    address = ipv6Text(b.subarray(at, at + 16));
    at += 16;
  } else return fail(`address family ${family} unknown`);
  if (!need(3)) return fail('truncated before the ports');
  const lifetimeS = b.readUInt16BE(at);
  const count = b[at + 2];
  at += 3;
  if (count < 1 || count > MAX_PORTS) return fail(`${count} ports (1..${MAX_PORTS})`);
  if (!need(3 * count)) return fail('truncated in the ports');
  const ports: PortSpec[] = [];
  for (let i = 0; i < count; i++) {
    const proto = b[at] === 6 ? 'tcp' : b[at] === 17 ? 'udp' : null;
    const port = b.readUInt16BE(at + 1);
    if (!proto) return fail(`protocol ${b[at]} (expected 6 tcp or 17 udp)`);
    if (port < 1) return fail('port 0');
    ports.push({ proto, port });
    at += 3;
  }
  const signedEnd = at;
  if (!need(2)) return fail('truncated before the signature');
  const sigLen = b.readUInt16BE(at);
  at += 2;
  if (sigLen === 0) return fail('no signature');
  if (at + sigLen < b.length) return fail(`${b.length - at - sigLen} bytes after the signature`);
  if (!need(sigLen)) return fail('truncated in the signature');
  return {
    ok: true,
    packet: {
      scheme,
      timestampMs: Number(ts),
      nonce: Buffer.from(nonce),
      user,
      door,
      address,
      lifetimeS,
      ports,
      signed: Buffer.from(b.subarray(0, signedEnd)),
      signature: Buffer.from(b.subarray(at, at + sigLen)),
    },
  };
}
