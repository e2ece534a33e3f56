import type { PortSpec } from '../core/door.js';
import { parsePortSpec } from '../core/port-spec.js';

/** knockd allows at most this many knocks in a sequence (SEQ_MAX in knockd.c). */
export const MAX_KNOCKS = 32;

/**
 * Parses knockd's sequence syntax, `7000,8000:udp,9000:tcp` (tcp by default), as used by
 * `Sequence =` and by each line of a one-time sequence file. Returns an error text on failure.
 */
export function parseKnockdSequence(text: string): PortSpec[] | string {
  const items = text.split(',').map((s) => s.trim());
  if (items.length > MAX_KNOCKS) return `${items.length} knocks; knockd allows at most ${MAX_KNOCKS}`;
  const ports: PortSpec[] = [];
  for (const [i, item] of items.entries()) {
    if (item === '') return `empty knock #${i + 1} in "${text}"; expected ports like 7000,8000:udp,9000`;
    const p = parsePortSpec(item, 'tcp');
    if (typeof p === 'string') return p;
    const prev = ports[i - 1];
    if (prev && prev.port === p.port && prev.proto === p.proto) {
      return `knock ${item} repeats the previous knock; a repeated knock can't be told apart from a SYN retransmit`;
    }
    ports.push(p);
  }
  return ports;
}
