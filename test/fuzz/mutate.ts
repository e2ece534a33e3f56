/**
 * A small deterministic mutation fuzzer (no native dependencies): byte flips, inserts,
 * deletes, duplicated and spliced chunks, and the separators the formats care about.
 */

const INTERESTING = [
  ':',
  ',',
  '/',
  '=',
  '+',
  '\n',
  '\r',
  '\0',
  ' ',
  '#',
  ';',
  '0',
  '0.0.0.0',
  'tcp/',
  'U2FsdGVkX1',
  'SOURCE',
  'ANY',
  '\xff',
  '65536',
  '-1',
];

/** mulberry32: seeded so a failure can be replayed with its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function mutate(input: Buffer, pool: readonly Buffer[], rand: () => number): Buffer {
  let b = Buffer.from(input);
  const int = (n: number) => Math.floor(rand() * n);
  const rounds = 1 + int(4);
  for (let r = 0; r < rounds; r++) {
    const at = int(b.length + 1);
    switch (int(9)) {
      case 0: // flip a bit
        if (b.length) b[int(b.length)] ^= 1 << int(8);
        break;
      case 1: // random byte
        if (b.length) b[int(b.length)] = int(256);
        break;
      case 2: // delete a chunk
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(16)))]);
        break;
      case 3: // insert a separator or token
        b = Buffer.concat([
          b.subarray(0, at),
          Buffer.from(INTERESTING[int(INTERESTING.length)], 'latin1'),
          b.subarray(at),
        ]);
        break;
      case 4: {
        // duplicate a chunk
        const len = int(64);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
        break;
      }
      case 5: {
        // splice with another corpus entry
        const other = pool[int(pool.length)] ?? Buffer.alloc(0);
        const from = int(other.length + 1);
        b = Buffer.concat([b.subarray(0, at), other.subarray(from)]);
        break;
      }
      case 6: // truncate
        b = b.subarray(0, at);
        break;
      case 7: // swap a base64 character (keeps the packet alphabet)
        if (b.length)
          b[int(b.length)] = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(int(64));
        break;
      default: // grow
        b = Buffer.concat([b, Buffer.alloc(int(200), int(256))]);
    }
  }
  return b.length > 4096 ? b.subarray(0, 4096) : b;
}
