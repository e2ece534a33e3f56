import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CommanderError } from 'commander';
import { buildCli } from '../../../src/cli/main.js';
import { commandsInLine, docFiles, inlineSesameCommands, sesameCommands } from './markdown-docs.js';

/**
 * The README's command table is the CLI's user manual: every command the CLI has is in it,
 * every command in it exists, and every option it mentions is in that command's --help. And
 * every `sesame ...` line the README and docs/ show in code parses with the CLI as it is.
 */
const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
const bin = fileURLToPath(new URL('../../../src/cli/bin.js', import.meta.url));
const helps = new Map<string, string>();
const help = (command = '') => {
  if (!helps.has(command))
    helps.set(
      command,
      execFileSync(process.execPath, [bin, ...(command ? [command] : []), '--help'], { encoding: 'utf8' }),
    );
  return helps.get(command)!;
};

const table = readme.slice(readme.indexOf('## Commands'), readme.indexOf('\n## ', readme.indexOf('## Commands') + 1));
const rows = [...table.matchAll(/^\| `sesame ([a-z]+)([^`]*)` \| (.*) \|$/gm)].map((m) => ({
  command: m[1],
  usage: m[2],
  text: m[3],
}));

/** Options a row names: in its usage cell, and in `code` in its description that starts with -. */
function flags(row: (typeof rows)[number]): string[] {
  const code = [...row.text.matchAll(/`(-[^`]*)`/g)].map((m) => m[1]);
  return [...`${row.usage} ${code.join(' ')}`.matchAll(/(?<![\w-])(--?[A-Za-z0-9][\w-]*)/g)].map((m) => m[1]);
}

describe('README command table against the CLI', () => {
  test('every CLI command is in the table, and every command in the table exists', () => {
    const cli = [...help().matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]).filter((c) => c !== 'help');
    const documented = new Set(rows.map((r) => r.command));
    assert.ok(cli.length >= 10, `commands parsed from --help: ${cli}`);
    for (const c of cli) assert.ok(documented.has(c), `sesame ${c} is missing from the README's command table`);
    for (const c of documented)
      assert.ok(cli.includes(c), `the README documents sesame ${c}, which the CLI doesn't have`);
  });

  test("every option a row mentions is in that command's --help", () => {
    for (const row of rows) {
      const text = help(row.command);
      for (const flag of flags(row)) {
        const shown = new RegExp(`(^|[\\s,])${flag.replace(/[-]/g, '\\-')}([\\s,=]|$)`, 'm');
        assert.match(text, shown, `README: sesame ${row.command} ${flag}; not in sesame ${row.command} --help`);
      }
    }
  });
});

/**
 * Parses `sesame ARGV` with the real command tree, every action replaced by a no-op: the
 * commander error (unknown command or option, missing argument or required option, a value
 * outside an option's choices, too many arguments), or null when it parses. A `fragment`
 * (`sesame compile` in a sentence) may leave out arguments, required options and an option's
 * value, but may not name a command, option or value the CLI lacks.
 */
async function parseError(argv: string[], fragment = false): Promise<CommanderError | null> {
  const program = buildCli(() => {});
  const quiet = { writeOut: () => {}, writeErr: () => {} };
  program.configureOutput(quiet);
  for (const command of program.commands) {
    command.configureOutput(quiet).action(() => {});
    if (fragment) {
      for (const option of command.options) option.mandatory = false;
      for (const argument of command.registeredArguments) argument.required = false;
    }
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return null;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0 || (fragment && err.code === 'commander.optionMissingArgument')) return null;
      return err;
    }
    throw err;
  }
}

async function failures(commands: { where: string; argv: string[] }[], fragment: boolean) {
  const found: string[] = [];
  for (const { where, argv } of commands) {
    const error = await parseError(argv, fragment);
    if (error) found.push(`${where}: sesame ${argv.join(' ')}\n    ${error.message}`);
  }
  return found;
}

describe('sesame commands in README.md and docs/*.md against the CLI', () => {
  const commands = docFiles().flatMap(sesameCommands);
  const inline = docFiles().flatMap(inlineSesameCommands);
  const message = async (argv: string[]) => (await parseError(argv))?.message ?? '';

  test('the parse check refuses what the CLI lacks and accepts what it has', async () => {
    assert.match(await message(['knok', 'server', '7000']), /unknown command 'knok'/);
    assert.match(await message(['knock', 'server', '7000', '--no-such-flag']), /unknown option/);
    assert.match(await message(['check']), /required option '-c, --config/);
    assert.match(await message(['compile', '-c', 'a.yaml', '--format', 'pf']), /--format.*pf/);
    assert.match(await message(['status', 'extra']), /too many arguments/);
    assert.equal(await parseError(['knock', '--proxy', 'host', '443', '--secret-file', 'f']), null);
  });

  test('command lines are found as a shell would run them', () => {
    const found = (line: string) => commandsInLine(line);
    assert.deepEqual(found('$ sesame check -c sesame.yaml'), [['check', '-c', 'sesame.yaml']]);
    assert.deepEqual(found("sesame token d -c s.yaml --totp-uri | qrencode -t ansiutf8  # it's"), [
      ['token', 'd', '-c', 's.yaml', '--totp-uri'],
    ]);
    assert.deepEqual(found('sesame token --new-secret > /etc/sesame/k && chmod 600 /etc/sesame/k'), [
      ['token', '--new-secret'],
    ]);
    assert.deepEqual(found('curl --data-binary "$(sesame token web -c s.yaml)" https://h/knock/web'), [
      ['token', 'web', '-c', 's.yaml'],
    ]);
    assert.deepEqual(found('    ProxyCommand sesame knock --proxy %h 443 --secret-file ~/.ssh/s'), [
      ['knock', '--proxy', '%h', '443', '--secret-file', '~/.ssh/s'],
    ]);
    assert.deepEqual(found('  key: /etc/sesame/fleet.key   # the same on every node: sesame token --new-secret'), [
      ['token', '--new-secret'],
    ]);
    assert.deepEqual(found('keys: k   # `sesame token --spa-keys > spa.keys` (or fwknop --key-gen)'), [
      ['token', '--spa-keys'],
    ]);
    // not the program: an argument, a quoted string, a path, prose
    assert.deepEqual(found('systemctl enable --now sesame; journalctl -u sesame -f'), []);
    assert.deepEqual(found('-A S-admin -j NFLOG --nflog-prefix "sesame open admin"'), []);
    assert.deepEqual(found('table inet sesame { # sesame.yaml, /etc/sesame'), []);
  });

  test('every command shown in code parses', async () => {
    // the docs show at least these; fewer found means the extraction broke, not the docs
    assert.ok(commands.length >= 20, `only ${commands.length} commands found`);
    for (const where of ['README.md', 'docs/web.md', 'docs/spa.md', 'docs/operations.md', 'docs/doors.md'])
      assert.ok(
        commands.some((c) => c.where.startsWith(`${where}:`)),
        `no sesame command found in ${where}`,
      );
    const found = await failures(commands, false);
    assert.deepEqual(found, [], `commands in the docs the CLI doesn't take:\n${found.join('\n')}`);
  });

  test('every command named in inline code exists, with the options it shows', async () => {
    assert.ok(inline.length >= 20, `only ${inline.length} inline commands found`);
    // a fragment may leave out arguments; it may not name a command, option or value the CLI lacks
    assert.equal(await parseError(['compile'], true), null);
    assert.equal(await parseError(['import', '--fwknop-access'], true), null);
    assert.equal(await parseError(['compile', '--format'], true), null);
    assert.match((await parseError(['compile', '--fromat', 'nft'], true))?.message ?? '', /unknown option/);
    assert.match((await parseError(['complie'], true))?.message ?? '', /unknown command/);
    assert.match((await parseError(['compile', '--format', 'pf'], true))?.message ?? '', /pf/);
    const found = await failures(inline, true);
    assert.deepEqual(found, [], `inline commands in the docs the CLI doesn't take:\n${found.join('\n')}`);
  });
});
