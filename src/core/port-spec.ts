export type Proto = 'tcp' | 'udp';

export interface PortSpec {
  readonly port: number;
  readonly proto: Proto;
}

/**
 * Parses `22`, `"7000/udp"` or knockd's `"7000:udp"`. Returns an error text on failure.
 */
export function parsePortSpec(value: unknown, defaultProto: Proto = 'tcp'): PortSpec | string {
  let portText: string;
  let proto: string = defaultProto;
  if (typeof value === 'number') portText = String(value);
  else if (typeof value === 'string') {
    const m = /^\s*(\d+)\s*(?:[/:]\s*([A-Za-z]+))?\s*$/.exec(value);
    if (!m) return `expected a port like 22, "7000/udp" or "7000:udp", got ${JSON.stringify(value)}`;
    portText = m[1];
    if (m[2]) proto = m[2].toLowerCase();
  } else return `expected a port number or "port/proto", got ${JSON.stringify(value)}`;
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `port ${portText} out of range 1..65535`;
  if (proto !== 'tcp' && proto !== 'udp') return `protocol "${proto}" not supported; expected tcp or udp`;
  return { port, proto };
}
