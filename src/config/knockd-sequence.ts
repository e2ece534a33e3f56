import type { PortSpec } from '../core/door.js';

/** knockd allows at most this many knocks in a sequence (SEQ_MAX in knockd.c). */
export const MAX_KNOCKS = 32;

export interface KnockdSequence {
  readonly ports: PortSpec[];
  /** Where knockd's reading is accidental (a comment read as part of a port, port 0, ...). */
  readonly warnings: string[];
}

/**
 * C's atoi(): leading blanks, an optional sign, digits; the rest is ignored, no digits is 0.
 * knockd reads every number of knockd.conf with it.
 */
export function atoi(text: string): { value: number; rest: string } {
  const m = /^[ \t\n\v\f\r]*([+-]?\d*)/.exec(text) as RegExpExecArray;
  const digits = m[1].replace(/^[+-]/, '');
  const value = digits === '' ? 0 : Number(m[1].startsWith('-') ? -Number(digits) : Number(digits));
  return { value, rest: text.slice(m[0].length) };
}

/**
 * knockd's sequence syntax (parse_port_sequence() in knockd.c), read exactly as knockd 0.8 reads
 * it: items split at `,`; each `PORT[:PROTO[:ignored]]`, the port read with atoi (so
 * `9000 # comment` is 9000, an empty item from a trailing comma is port 0, `-1` is 65535 after
 * knockd's cast to unsigned short), the protocol trimmed, tcp or udp in any case, tcp when
 * absent. Ports above 65535 and unknown protocols are errors, as in knockd. Repeated ports are
 * kept: knockd counts them hit by hit. Returns an error text on failure.
 */
export function parseKnockdSequence(text: string): KnockdSequence | string {
  const items = text.split(',');
  if (items.length > MAX_KNOCKS) return `${items.length} knocks; knockd allows at most ${MAX_KNOCKS}`;
  const ports: PortSpec[] = [];
  const warnings: string[] = [];
  for (const [i, item] of items.entries()) {
    const [portText, protoText] = item.split(':');
    const { value, rest } = atoi(portText);
    if (value > 65535) return `port ${portText.trim()} out of range 0..65535 (knockd refuses it too)`;
    let proto: PortSpec['proto'] = 'tcp';
    if (protoText !== undefined) {
      const p = protoText.trim().toUpperCase();
      if (p !== 'TCP' && p !== 'UDP')
        return `unknown protocol ${JSON.stringify(protoText.trim())} in knock ${JSON.stringify(item.trim())}; expected tcp or udp (knockd refuses it too)`;
      proto = p === 'UDP' ? 'udp' : 'tcp';
    }
    const port = value < 0 ? (value % 65536) + 65536 : value;
    const what = `knock #${i + 1} ${JSON.stringify(item.trim())}`;
    const numeric = /^[+-]?\d/.test(portText.trim());
    if (item.trim() === '')
      warnings.push(
        `${what}: an empty knock (${i === items.length - 1 ? 'a trailing comma' : 'two commas'}) is port 0 in knockd, and in sesame: the door opens only after a knock on port 0, which ordinary clients can't send; remove the comma if that wasn't meant`,
      );
    else if (!numeric) warnings.push(`${what}: not a number; knockd reads it as port 0, and so does sesame`);
    else if (rest.trim() !== '')
      warnings.push(
        `${what}: knockd has no inline comments and reads this as port ${port} (the text after the number is ignored); so does sesame`,
      );
    else if (value < 0) warnings.push(`${what}: knockd reads a negative port as ${port}; so does sesame`);
    else if (port === 0)
      warnings.push(`${what}: port 0 can't be knocked by ordinary clients; the door opens only after one`);
    ports.push({ port, proto });
  }
  return { ports, warnings };
}
