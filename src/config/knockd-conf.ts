import { MAX_DURATION_MS } from '../core/duration.js';
import type { PortSpec, TcpFlagMatch } from '../core/door.js';
import { parseTcpFlags } from '../core/tcp-flags.js';
import { ConfigError, type ConfigProblem } from './config-error.js';
import type { InterfaceCheck } from './host-interfaces.js';
import { atoi, parseKnockdSequence } from './knockd-sequence.js';

/**
 * knockd.conf, read the way knockd 0.8 reads it (src/knockd.c, parseconfig()): `#` comment
 * lines, `[name]` sections, `key = value` directives with case-insensitive keys, `[options]`
 * for the global ones. Unlike knockd, which stops at the first bad line, every problem is
 * reported, each at its file:line. Pure: see knockd-plan.ts for the translation to a Plan.
 */

/** The `[options]` section. */
export interface KnockdOptions {
  readonly useSyslog: boolean;
  readonly logFile?: string;
  readonly pidFile?: string;
  readonly interface?: string;
}

/** One `[name]` section: a door. Times are whole seconds, as in knockd. */
export interface KnockdDoor {
  readonly name: string;
  /** Line of the `[name]` header. */
  readonly line: number;
  readonly sequence?: readonly PortSpec[];
  readonly oneTimeSequences?: string;
  readonly seqTimeout: number;
  readonly cmdTimeout: number;
  /** Absent: knockd counts packets with any flags; see knockd-plan.ts. */
  readonly tcpFlags?: TcpFlagMatch;
  readonly startCommand?: string;
  readonly startCommand6?: string;
  readonly stopCommand?: string;
  readonly stopCommand6?: string;
  readonly target?: string;
  /** Line of each directive by canonical key (`SEQUENCE`, ...), for later messages. */
  readonly lines: Readonly<Record<string, number>>;
}

/** A line knockd accepts where its reading is accidental: loaded with knockd's meaning, and said. */
export interface KnockdWarning {
  readonly line: number;
  readonly field: string;
  readonly message: string;
}

export interface KnockdConf {
  readonly file: string;
  readonly options: KnockdOptions;
  readonly doors: readonly KnockdDoor[];
  readonly warnings: readonly KnockdWarning[];
}

/** knockd's defaults (knockd.c: SEQ_TIMEOUT, CMD_TIMEOUT). */
export const KNOCKD_SEQ_TIMEOUT = 25;
export const KNOCKD_CMD_TIMEOUT = 10;
const MAX_SECONDS = MAX_DURATION_MS / 1000;

/** Directive aliases knockd accepts, to one canonical key. */
const ALIASES: Record<string, string> = {
  TIMEOUT: 'SEQ_TIMEOUT',
  COMMAND: 'START_COMMAND',
  COMMAND_6: 'START_COMMAND_6',
};
const DOOR_KEYS = [
  'SEQUENCE',
  'ONE_TIME_SEQUENCES',
  'SEQ_TIMEOUT',
  'TCPFLAGS',
  'START_COMMAND',
  'START_COMMAND_6',
  'CMD_TIMEOUT',
  'STOP_COMMAND',
  'STOP_COMMAND_6',
  'TARGET',
];
const OPTION_KEYS = ['USESYSLOG', 'LOGFILE', 'PIDFILE', 'INTERFACE'];

type MutableDoor = { -readonly [K in keyof KnockdDoor]: KnockdDoor[K] } & { lines: Record<string, number> };

/** Parses knockd.conf text; throws ConfigError listing every bad line. `file` names it in messages. */
/** `checkInterface` checks `Interface =` against the host; the default accepts any name. */
export function parseKnockdConf(
  text: string,
  file = 'knockd.conf',
  checkInterface: InterfaceCheck = () => null,
): KnockdConf {
  const problems: ConfigProblem[] = [];
  const options: { -readonly [K in keyof KnockdOptions]: KnockdOptions[K] } = { useSyslog: false };
  const doors: MutableDoor[] = [];
  let section: 'none' | 'options' | MutableDoor = 'none';
  const badKnock = new Set<MutableDoor>();
  const warnings: KnockdWarning[] = [];
  const problem = (line: number, field: string, message: string, column = 1) =>
    problems.push({ file, line, column, field, message });

  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    const column = raw.length - raw.trimStart().length + 1;
    if (trimmed === '' || trimmed.startsWith('#')) return;

    if (trimmed.startsWith('[') && trimmed.endsWith(']')) {
      const name = trimmed.slice(1, -1).trim();
      if (name === '') {
        problem(line, '', 'empty section name; expected [options] or [door name]', column);
        section = 'none';
      } else if (name.toLowerCase() === 'options') section = 'options';
      else {
        section = { name, line, seqTimeout: KNOCKD_SEQ_TIMEOUT, cmdTimeout: KNOCKD_CMD_TIMEOUT, lines: {} };
        doors.push(section);
      }
      return;
    }
    if (trimmed.startsWith('[')) {
      problem(line, '', `bad section header ${JSON.stringify(trimmed)}; expected [name]`, column);
      return;
    }

    const eq = trimmed.indexOf('=');
    const keyText = (eq < 0 ? trimmed : trimmed.slice(0, eq)).trim();
    const value = eq < 0 ? undefined : trimmed.slice(eq + 1).trim();
    const upper = keyText.toUpperCase();
    const key = ALIASES[upper] ?? upper;
    if (section === 'none') {
      problem(line, keyText, 'directive outside a section; every directive belongs to [options] or a [door]', column);
      return;
    }
    if (key === 'USESYSLOG') {
      // knockd takes a bare `UseSyslog` in any section; a value is tolerated
      options.useSyslog = true;
      return;
    }
    if (!/^[A-Za-z_0-9]+$/.test(keyText)) {
      problem(line, '', `cannot read ${JSON.stringify(trimmed)}; expected "key = value"`, column);
      return;
    }
    if (section === 'options') {
      if (!OPTION_KEYS.includes(key)) {
        const where = DOOR_KEYS.includes(key) ? `; ${keyText} belongs in a [door] section` : '';
        problem(
          line,
          keyText,
          `unknown option "${keyText}" in [options]; expected one of UseSyslog, LogFile, PidFile, Interface${where}`,
          column,
        );
        return;
      }
      if (value === undefined || value === '') {
        problem(line, keyText, `${keyText} needs a value: "${keyText} = ..."`, column);
        return;
      }
      if (key === 'LOGFILE') options.logFile = value;
      else if (key === 'PIDFILE') options.pidFile = value;
      else if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(value))
        problem(line, keyText, `bad interface name ${JSON.stringify(value)}; expected e.g. eth0`, column);
      else {
        const missing = checkInterface(value);
        if (missing !== null) problem(line, keyText, missing, column);
        else options.interface = value;
      }
      return;
    }

    const door = section;
    const field = `[${door.name}] ${keyText}`;
    if (!DOOR_KEYS.includes(key)) {
      const where = OPTION_KEYS.includes(key) ? `; ${keyText} belongs in [options]` : '';
      problem(
        line,
        field,
        `unknown directive "${keyText}"; expected one of Sequence, One_Time_Sequences, Seq_Timeout, TCPFlags, Start_Command, Start_Command_6, Cmd_Timeout, Stop_Command, Stop_Command_6, Target${where}`,
        column,
      );
      return;
    }
    if (value === undefined) {
      problem(line, field, `expected "${keyText} = value"`, column);
      return;
    }
    const error = setDoorKey(door, key, value, (message) => warnings.push({ line, field, message }));
    if (error) {
      problem(line, field, error, column);
      if (key === 'SEQUENCE' || key === 'ONE_TIME_SEQUENCES') badKnock.add(door);
    } else door.lines[key] = line;
  });

  for (const door of doors) {
    if (!door.sequence && !door.oneTimeSequences && !badKnock.has(door)) {
      problems.push({
        file,
        line: door.line,
        column: 1,
        field: `[${door.name}]`,
        message: 'door has no knock: add "Sequence = ..." or "One_Time_Sequences = FILE"',
      });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { file, options, doors, warnings };
}

/** Applies one directive to a door; returns an error text or null. */
function setDoorKey(door: MutableDoor, key: string, value: string, warn: (message: string) => void): string | null {
  switch (key) {
    case 'SEQUENCE': {
      const seq = parseKnockdSequence(value);
      if (typeof seq === 'string') return seq;
      door.sequence = seq.ports;
      seq.warnings.forEach(warn);
      return null;
    }
    case 'ONE_TIME_SEQUENCES':
      if (value === '') return 'expected the path of a sequence file';
      door.oneTimeSequences = value;
      return null;
    case 'SEQ_TIMEOUT':
    case 'CMD_TIMEOUT': {
      const seconds = parseSeconds(value, key === 'SEQ_TIMEOUT' ? 1 : 0, warn);
      if (typeof seconds === 'string') return seconds;
      if (key === 'SEQ_TIMEOUT') door.seqTimeout = seconds;
      else door.cmdTimeout = seconds;
      return null;
    }
    case 'TCPFLAGS': {
      const flags = parseTcpFlags(value);
      if (typeof flags === 'string') return flags;
      door.tcpFlags = flags;
      return null;
    }
    case 'START_COMMAND':
      door.startCommand = value;
      return null;
    case 'START_COMMAND_6':
      door.startCommand6 = value;
      return null;
    case 'STOP_COMMAND':
      door.stopCommand = value;
      return null;
    case 'STOP_COMMAND_6':
      door.stopCommand6 = value;
      return null;
    case 'TARGET':
      if (value === '') return 'expected an IP address';
      door.target = value;
      return null;
  }
  return `unknown directive ${key}`;
}

/** A time as knockd reads it (atoi: `5s` is 5, `abc` is 0), with a warning where that is accidental. */
function parseSeconds(value: string, min: number, warn: (message: string) => void): number | string {
  const { value: n, rest } = atoi(value);
  if (rest.trim() !== '' || !/^[+-]?\d/.test(value.trim()))
    warn(
      `knockd reads ${JSON.stringify(value)} as ${n} seconds (it has no units or comments; the rest is ignored); so does sesame`,
    );
  if (n > MAX_SECONDS) return `longer than 24 days (${MAX_SECONDS} s) is not supported, got ${n}`;
  if (n < min) {
    warn(
      min === 1
        ? `knockd reads ${n} as a sequence time in which a knock can never complete (it drops a knock in progress at its next packet); sesame gives it 1 second`
        : `knockd reads ${n} as a huge wait (sleep of a negative number); sesame runs the stop command after 1 second`,
    );
    return min;
  }
  return n;
}
