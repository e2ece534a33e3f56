/**
 * fwknopd's CMD_CYCLE_OPEN / CMD_CYCLE_CLOSE (server/cmd_cycle.c build_cmd): a `$NAME` in the
 * command is replaced by the grant's value. Names are matched as prefixes in fwknopd's order
 * (so `$IPSET` is the address followed by `SET`), and a `$` before any other name is dropped,
 * as fwknopd does. Every value is an address or a number, so the line is safe for /bin/sh.
 */

export interface CmdCycle {
  /** CMD_CYCLE_OPEN, run when a packet is accepted. */
  readonly open: string;
  /** CMD_CYCLE_CLOSE, run when the grant ends (CMD_CYCLE_TIMER or the client's timeout); null for NONE. */
  readonly close: string | null;
}

export interface CmdCycleValues {
  /** The address granted (the packet's, or its source with `fwknop -s`): $IP and $SRC. */
  readonly ip: string;
  /** The packet's source in the IP header: $PKT_SRC. */
  readonly pktSrc: string;
  /** Where the packet was sent: $DST. */
  readonly dst: string;
  /** The first port asked for: $PORT, and its protocol number: $PROTO (6, 17). */
  readonly port: number;
  readonly proto: 'tcp' | 'udp';
  /** The packet's timestamp (unix s) and the grant's lifetime (s): $TIMEOUT is their sum, $CLIENT_TIMEOUT the lifetime. */
  readonly timestamp: number;
  readonly timeoutS: number;
}

type Name = 'IP' | 'SRC' | 'PKT_SRC' | 'DST' | 'PORT' | 'PROTO' | 'TIMEOUT' | 'CLIENT_TIMEOUT';
const NAMES: readonly Name[] = ['IP', 'SRC', 'PKT_SRC', 'DST', 'PORT', 'PROTO', 'TIMEOUT', 'CLIENT_TIMEOUT'];

function value(name: Name, v: CmdCycleValues): string {
  switch (name) {
    case 'IP':
    case 'SRC':
      return v.ip;
    case 'PKT_SRC':
      return v.pktSrc;
    case 'DST':
      return v.dst;
    case 'PORT':
      return String(v.port);
    case 'PROTO':
      return v.proto === 'tcp' ? '6' : '17';
    case 'TIMEOUT':
      return String(v.timestamp + v.timeoutS);
    case 'CLIENT_TIMEOUT':
      return String(v.timeoutS);
  }
}

/** What each name may expand to, for checking a recorded command against its template. */
const PATTERN: Record<Name, string> = {
  IP: '[0-9a-fA-F:.]+',
  SRC: '[0-9a-fA-F:.]+',
  PKT_SRC: '[0-9a-fA-F:.]+',
  DST: '[0-9a-fA-F:.]*',
  PORT: '\\d+',
  PROTO: '\\d+',
  TIMEOUT: '\\d+',
  CLIENT_TIMEOUT: '\\d+',
};

function walk(template: string, piece: (name: Name | null, text: string) => void): void {
  for (let i = 0; i < template.length; i++) {
    if (template[i] !== '$') {
      piece(null, template[i]);
      continue;
    }
    const name = NAMES.find((n) => template.startsWith(n, i + 1));
    if (name) {
      piece(name, '');
      i += name.length;
    }
  }
}

export function expandCmdCycle(template: string, v: CmdCycleValues): string {
  let out = '';
  walk(template, (name, text) => (out += name ? value(name, v) : text));
  return out;
}

/**
 * Whether `command` is an expansion of `template`: a close command recorded in the state
 * folder runs after a restart only when the loaded stanza's CMD_CYCLE_CLOSE stands behind it.
 */
export function isExpansionOf(template: string, command: string): boolean {
  let re = '';
  walk(template, (name, text) => (re += name ? PATTERN[name] : text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${re}$`).test(command);
}
