import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The README's command table is the CLI's user manual: every command the CLI has is in it,
 * every command in it exists, and every option it mentions is in that command's --help.
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
