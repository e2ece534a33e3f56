import { readConfigText } from './load-config.js';
import { collisionMessage, MAX_DOORS, tooManyDoors } from './plan-problems.js';
import { nameCollisions } from '../core/name-collisions.js';
import { DOOR_NAME_MAX } from '../core/door-name.js';
import { DEFAULT_FLAGS, type Door, type Plan, type RunCommands } from '../core/door.js';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { type KnockdConf, type KnockdDoor, type KnockdOptions, parseKnockdConf } from './knockd-conf.js';
import { OneTimeFileError, oneTimeDoor, readOneTimeFile } from './one-time-file.js';
import { configSchema } from './schema.js';
import { hostInterface } from './host-interfaces.js';

/** A knockd.conf turned into sesame's plan, plus what sesame does differently, for the log. */
export interface KnockdPlan {
  readonly plan: Plan;
  readonly options: KnockdOptions;
  readonly notes: readonly string[];
}

/** Reads and translates a knockd.conf. Throws ConfigError (file:line) and changes nothing. */
export function loadKnockdConf(file: string): KnockdPlan {
  const text = readConfigText(file);
  return knockdPlan(parseKnockdConf(text, file, hostInterface));
}

/**
 * knockd doors run their commands: each becomes a door with no kernel-native ports whose
 * grant lives `Cmd_Timeout` seconds, so `Start_Command` runs when the knock completes and
 * `Stop_Command` when the kernel ends the grant (also across restarts: see daemon.ts).
 * Reads one-time sequence files (their active line is the kernel's sequence).
 */
export function knockdPlan(conf: KnockdConf): KnockdPlan {
  const defaults = configSchema.parse({ doors: {} });
  const problems: ConfigProblem[] = [];
  const notes: string[] = conf.warnings.map((w) => `${conf.file}:${w.line} ${w.field}: ${w.message}`);
  const names = new Set<string>();
  const doors: Door[] = [];
  const sections = new Map<string, KnockdDoor>();
  for (const k of conf.doors) {
    const name = doorName(k.name, names);
    sections.set(name, k);
    if (name !== k.name)
      notes.push(`door [${k.name}] is called "${name}" in sesame (nftables set names allow letters, digits, _ and -)`);
    if (k.target) {
      notes.push(
        `door [${k.name}]: Target ${k.target} is not matched; sesame counts knocks to any address of this host (its rules run on the input hook, so knocks routed to other hosts are not seen)`,
      );
    }
    const base = {
      name,
      open: [],
      // a grant's lifetime is the time between start and stop; 0 s (stop right away) becomes 1 s
      forMs: Math.max(1, k.cmdTimeout) * 1000,
      reply: 'drop' as const,
      interface: conf.options.interface,
      run: runCommands(k),
    };
    const flags = k.tcpFlags ?? DEFAULT_FLAGS;
    const withinMs = k.seqTimeout * 1000;
    if (k.oneTimeSequences) {
      try {
        const file = readOneTimeFile(k.oneTimeSequences);
        for (const s of file.skipped)
          notes.push(`${k.oneTimeSequences}:${s.line}: skipped (${s.message}), as knockd does`);
        if (!file.active)
          notes.push(`door [${k.name}]: every sequence in ${k.oneTimeSequences} is used; the door is disabled`);
        doors.push(oneTimeDoor({ ...base, file: k.oneTimeSequences, flags, withinMs }, file.active));
      } catch (err) {
        if (!(err instanceof OneTimeFileError)) throw err;
        const line = k.lines.ONE_TIME_SEQUENCES ?? k.line;
        problems.push({
          file: conf.file,
          line,
          column: 1,
          field: `[${k.name}] One_Time_Sequences`,
          message: err.message,
        });
      }
      continue;
    }
    doors.push({ ...base, kind: 'sequence', knock: { ports: k.sequence ?? [], flags, withinMs } });
  }
  if (conf.doors.length > MAX_DOORS)
    problems.push({
      file: conf.file,
      line: conf.doors[MAX_DOORS].line,
      column: 1,
      field: '',
      message: tooManyDoors(conf.doors.length),
    });
  for (const c of nameCollisions(doors)) {
    const k = sections.get(c.second);
    problems.push({
      file: conf.file,
      line: k?.line ?? 0,
      column: 1,
      field: `[${k?.name}]`,
      message: collisionMessage(c),
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const plan: Plan = Object.freeze({
    doors,
    nflogGroup: defaults.nflog_group,
    setSize: defaults.set_size,
    scanGuard: defaults.scan_guard === false ? null : defaults.scan_guard,
    source: conf.file,
  });
  return { plan, options: conf.options, notes };
}

/**
 * knockd's commands; `_6` ones only when given (absent: the v4 command runs for v6 too). Like
 * knockd, a stop command without a start command never runs (knockd runs it after the start).
 */
export function runCommands(k: KnockdDoor): RunCommands | undefined {
  const run: { -readonly [K in keyof RunCommands]: RunCommands[K] } = {};
  if (!k.startCommand && !k.startCommand6) return undefined;
  if (k.startCommand) run.start = k.startCommand;
  if (k.stopCommand) run.stop = k.stopCommand;
  if (k.startCommand6 !== undefined) run.start6 = k.startCommand6;
  if (k.stopCommand6 !== undefined) run.stop6 = k.stopCommand6;
  return Object.keys(run).length > 0 ? run : undefined;
}

/** A knockd section name as a sesame door name (core/door-name.ts), unique among `taken`. */
export function doorName(section: string, taken: Set<string>): string {
  let base = section.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^[^A-Za-z]+/, '');
  if (base === '') base = 'door';
  base = base.slice(0, DOOR_NAME_MAX);
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base.slice(0, DOOR_NAME_MAX - String(i).length - 1)}_${i}`;
  taken.add(name);
  return name;
}
