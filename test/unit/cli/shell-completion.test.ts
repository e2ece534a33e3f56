import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { completionCommand } from '../../../src/cli/commands/completion.js';
import { buildCli } from '../../../src/cli/main.js';

/**
 * `sesame completion bash|zsh` builds the scripts from commander's definition: bash is run
 * with the script loaded and asked what it offers, as readline would (COMP_WORDS, COMP_CWORD).
 */
const dir = join(tmpdir(), `sesame-completion-${process.pid}`);
mkdirSync(dir, { recursive: true });
after(() => rmSync(dir, { recursive: true, force: true }));

const program = buildCli(() => {});
const script = (shell: 'bash' | 'zsh', cli = program) => completionCommand(cli, shell);

/** What the bash script offers for the command line WORDS (the last one being completed). */
function offered(words: string[], bashScript = script('bash'), cwd = dir): string[] {
  const file = join(dir, 'sesame.bash');
  writeFileSync(file, bashScript);
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const out = execFileSync(
    'bash',
    [
      '--norc',
      '-c',
      `source ${file}; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _sesame; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8', cwd },
  );
  return out.split('\n').filter(Boolean).sort();
}

const longOptions = (name: string) =>
  program.commands
    .find((c) => c.name() === name)!
    .options.map((o) => o.long!)
    .concat('--help')
    .sort();

describe('bash completion', () => {
  test('is registered for sesame with its function', () => {
    const file = join(dir, 'registered.bash');
    writeFileSync(file, script('bash'));
    const out = execFileSync('bash', ['--norc', '-c', `source ${file}; complete -p sesame`], { encoding: 'utf8' });
    assert.equal(out.trim(), 'complete -F _sesame sesame');
  });

  test('`sesame <TAB>` offers every command the CLI has, and only those', () => {
    const commands = [...program.commands.map((c) => c.name()), 'help'].sort();
    assert.ok(commands.includes('knock') && commands.includes('completion'));
    assert.deepEqual(offered(['sesame', '']), commands);
    assert.deepEqual(offered(['sesame', 'kn']), ['knock']);
  });

  test("`sesame knock --<TAB>` offers knock's long options, from its definition", () => {
    const got = offered(['sesame', 'knock', '--']);
    assert.deepEqual(got, longOptions('knock'));
    for (const flag of ['--spa', '--proxy', '--then-connect', '--http', '--no-banner'])
      assert.ok(got.includes(flag), flag);
    assert.deepEqual(offered(['sesame', 'knock', '--th']), ['--then-connect']);
  });

  test('option values: choices, files for -c, directories for --state-dir', () => {
    assert.deepEqual(offered(['sesame', 'compile', '-c', 'x.yaml', '--format', '']), [
      'ip6tables-restore',
      'iptables-restore',
      'nft',
    ]);
    assert.deepEqual(offered(['sesame', 'completion', '']), ['bash', 'zsh']);
    const files = join(dir, 'files');
    mkdirSync(join(files, 'keys'), { recursive: true });
    writeFileSync(join(files, 'sesame.yaml'), '');
    assert.deepEqual(offered(['sesame', 'check', '-c', ''], script('bash'), files), ['keys', 'sesame.yaml']);
    // -c takes several files: the next word is a file too
    assert.deepEqual(offered(['sesame', 'check', '-c', 'sesame.yaml', 's'], script('bash'), files), ['sesame.yaml']);
    assert.deepEqual(offered(['sesame', 'serve', '--state-dir', ''], script('bash'), files), ['keys']);
  });

  test('a command added to the CLI is offered with its options: no list kept by hand', () => {
    const cli = buildCli(() => {});
    cli.command('frobnicate').option('--widget <file>', 'a widget');
    assert.ok(offered(['sesame', 'fro'], script('bash', cli)).includes('frobnicate'));
    assert.deepEqual(offered(['sesame', 'frobnicate', '--'], script('bash', cli)), ['--help', '--widget']);
    assert.ok(!offered(['sesame', 'fro']).includes('frobnicate'), 'the real CLI has no such command');
  });
});

const hasZsh = spawnSync('sh', ['-c', 'command -v zsh'], { stdio: 'ignore' }).status === 0;

describe('zsh completion', { skip: hasZsh ? false : 'needs zsh (apt install zsh)' }, () => {
  test('`zsh -n` accepts the script; it names every command and the options of each', () => {
    const text = script('zsh');
    const file = join(dir, '_sesame');
    writeFileSync(file, text);
    const r = spawnSync('zsh', ['-n', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(text, /^#compdef sesame\n/);
    for (const c of program.commands) assert.match(text, new RegExp(`\\n {8}${c.name()}\\)\\n`), c.name());
    for (const flag of longOptions('knock')) assert.ok(text.includes(flag), flag);
    // a broken script fails the same check (the positive control)
    writeFileSync(file, text.replace('esac\n      ;;', ';;'));
    assert.notEqual(spawnSync('zsh', ['-n', file]).status, 0);
  });

  test('zsh loads it from $fpath and registers _sesame for sesame', () => {
    writeFileSync(join(dir, '_sesame'), script('zsh'));
    const r = spawnSync(
      'zsh',
      ['-f', '-c', `fpath=(${dir} $fpath); autoload -Uz compinit; compinit -u -D; print -r -- $_comps[sesame]`],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '_sesame');
  });
});
