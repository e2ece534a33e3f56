import type { Argument, Command, Option } from 'commander';

/** What a value is completed with: file names, directory names, a fixed list, or nothing to offer. */
export type ValueKind = { kind: 'file' } | { kind: 'dir' } | { kind: 'choices'; choices: string[] } | { kind: 'none' };

export interface OptionSpec {
  /** `-c`, `--config` (short first) */
  flags: string[];
  description: string;
  /** undefined: a switch that takes no value; variadic: `-c <files...>` takes words until the next option */
  value?: ValueKind & { name: string; variadic: boolean };
}

export interface ArgumentSpec {
  name: string;
  required: boolean;
  variadic: boolean;
  value: ValueKind;
}

export interface CommandSpec {
  name: string;
  description: string;
  options: OptionSpec[];
  arguments: ArgumentSpec[];
}

export interface CliSpec {
  name: string;
  options: OptionSpec[];
  commands: CommandSpec[];
}

// a value placeholder that names a path: <file>, <files...>, <logfile>, <dir>
function valueKind(name: string, choices: readonly string[] | undefined): ValueKind {
  if (choices?.length) return { kind: 'choices', choices: [...choices] };
  if (/^(file|files|logfile)$/.test(name)) return { kind: 'file' };
  if (/^dir$/.test(name)) return { kind: 'dir' };
  return { kind: 'none' };
}

function optionSpec(o: Option): OptionSpec {
  const flags = [o.short, o.long].filter((f): f is string => !!f);
  const placeholder = /[<[]([\w-]+)(?:\.\.\.)?[>\]]/.exec(o.flags)?.[1];
  const variadic = o.variadic;
  return {
    flags,
    description: o.description,
    ...(placeholder ? { value: { name: placeholder, variadic, ...valueKind(placeholder, o.argChoices) } } : {}),
  };
}

function argumentSpec(a: Argument, commandNames: string[]): ArgumentSpec {
  // `help [command]` completes the command names
  const choices = a.argChoices ?? (a.name() === 'command' ? commandNames : undefined);
  return { name: a.name(), required: a.required, variadic: a.variadic, value: valueKind(a.name(), choices) };
}

/**
 * The completable surface of the CLI, read from commander's own definition (the same objects
 * that parse argv and print --help), so completion can't drift from the commands.
 */
export function describeCli(program: Command): CliSpec {
  const help = program.createHelp();
  const commands = help.visibleCommands(program);
  const names = commands.map((c) => c.name());
  return {
    name: program.name(),
    options: help.visibleOptions(program).map(optionSpec),
    commands: commands.map((c) => ({
      name: c.name(),
      description: c.description(),
      options: c.createHelp().visibleOptions(c).map(optionSpec),
      arguments: c.registeredArguments.map((a) => argumentSpec(a, names)),
    })),
  };
}
