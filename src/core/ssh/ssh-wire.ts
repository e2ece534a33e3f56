/**
 * The SSH wire encoding (RFC 4251 §5): `uint32` big-endian, `string` as a uint32 length then
 * the bytes, `mpint` as a string holding a two's-complement big-endian integer. The reader
 * never throws on short or oversized input: it returns null, and the caller refuses.
 */

export class SshReader {
  private at = 0;

  constructor(private readonly buf: Uint8Array) {}

  /** Bytes not read yet. */
  get left(): number {
    return this.buf.length - this.at;
  }

  uint32(): number | null {
    if (this.left < 4) return null;
    const b = this.buf;
    const v = ((b[this.at] << 24) >>> 0) + (b[this.at + 1] << 16) + (b[this.at + 2] << 8) + b[this.at + 3];
    this.at += 4;
    return v;
  }

  bytes(n: number): Uint8Array | null {
    if (n < 0 || this.left < n) return null;
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  string(): Uint8Array | null {
    const n = this.uint32();
    return n === null ? null : this.bytes(n);
  }

  /** A string read as text (names, namespaces); null unless it is ASCII without controls. */
  text(): string | null {
    const s = this.string();
    if (!s) return null;
    for (const c of s) if (c < 0x20 || c > 0x7e) return null;
    return Buffer.from(s).toString('latin1');
  }

  /** An mpint as its magnitude bytes (leading zero bytes dropped); null when negative. */
  mpint(): Uint8Array | null {
    const s = this.string();
    if (!s) return null;
    if (s.length > 0 && s[0] & 0x80) return null;
    let i = 0;
    while (i < s.length && s[i] === 0) i++;
    return s.subarray(i);
  }
}

export function sshUint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function sshString(data: Uint8Array | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
  return Buffer.concat([sshUint32(bytes.length), bytes]);
}
