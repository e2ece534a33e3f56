import { TCP_FLAGS, type TcpFlag, type TcpFlagMatch } from './door.js';

/**
 * Parses knockd's tcpflags syntax: `syn`, `syn,!ack`, `syn,ack`. Case-insensitive.
 * Returns an error text instead of throwing so config validation can place it.
 */
export function parseTcpFlags(text: string): TcpFlagMatch | string {
  const set: TcpFlag[] = [];
  const clear: TcpFlag[] = [];
  for (const raw of text.split(/[,\s]+/).filter(Boolean)) {
    const negated = raw.startsWith('!');
    const name = (negated ? raw.slice(1) : raw).toLowerCase();
    if (!(TCP_FLAGS as readonly string[]).includes(name)) {
      return `unknown tcp flag "${raw}"; expected ${TCP_FLAGS.join(', ')}, each optionally prefixed with !`;
    }
    const flag = name as TcpFlag;
    if (set.includes(flag) || clear.includes(flag)) return `tcp flag "${name}" listed twice`;
    (negated ? clear : set).push(flag);
  }
  if (set.length === 0 && clear.length === 0) return 'empty tcp flags; expected e.g. "syn" or "syn,!ack"';
  return { set, clear };
}

export function formatTcpFlags(flags: TcpFlagMatch): string {
  return [...flags.set, ...flags.clear.map((f) => `!${f}`)].join(',');
}

/**
 * Whether packets of open connections can carry these flags (knockd's `TCPFlags = ack`, as on
 * a game server's own port): without SYN required, a knock may be the ACK that ends a
 * handshake, which the kernel already counts as an established connection.
 */
export function knocksOnOpenConnections(flags: TcpFlagMatch): boolean {
  return !flags.set.includes('syn');
}
