import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { SesameError } from '../../../src/core/sesame-error.js';
import { repoRoot } from '../cli/markdown-docs.js';

/** Every .ts file under src/, as a path relative to src/. */
function sourceFiles(dir = join(repoRoot, 'src')): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [relative(join(repoRoot, 'src'), path)] : [];
  });
}

const sources = sourceFiles().map((file) => ({ file, text: readFileSync(join(repoRoot, 'src', file), 'utf8') }));

/** The exported classes that are errors (by name or by what they extend), with their files. */
const errorClasses = sources.flatMap(({ file, text }) =>
  [...text.matchAll(/^export (?:abstract )?class (\w+) extends (\w+)/gm)]
    .filter(([, name, base]) => /Error$/.test(name) || /Error$/.test(base))
    .map(([, name]) => ({ file, name })),
);

/** The codes in docs/errors.md's tables: the first cell of each row. */
const documented = new Set(
  [...readFileSync(join(repoRoot, 'docs/errors.md'), 'utf8').matchAll(/^\| `(E_[A-Z_]+)` \|/gm)].map((m) => m[1]),
);

describe('one error base: SesameError with a stable code', () => {
  test('no class in src extends Error directly, except the base', () => {
    const direct = sources.flatMap(({ file, text }) =>
      [...text.matchAll(/class (\w+) extends Error\b/g)].map((m) => `${file}: ${m[1]}`),
    );
    assert.deepEqual(direct, ['core/sesame-error.ts: SesameError']);
  });

  test('every exported error class extends SesameError and has its own code, listed in docs/errors.md', async () => {
    assert.ok(errorClasses.length >= 24, `found only ${errorClasses.length} error classes`);
    const seen = new Map<string, string>();
    for (const { file, name } of errorClasses) {
      if (name === 'SesameError') continue;
      const mod = (await import(`../../../src/${file.replace(/\.ts$/, '.js')}`)) as Record<string, unknown>;
      const cls = mod[name] as { prototype: unknown; code?: unknown };
      assert.ok(cls.prototype instanceof SesameError, `${name} (src/${file}) does not extend SesameError`);
      assert.match(String(cls.code), /^E_[A-Z_]+$/, `${name} has no code of its own`);
      const code = cls.code as string;
      assert.equal(seen.get(code), undefined, `${name} and ${seen.get(code)} share the code ${code}`);
      seen.set(code, name);
      assert.ok(documented.has(code), `${code} (${name}) is not in docs/errors.md`);
    }
  });

  test('an instance carries its class code; CliError carries the code of its failure', async () => {
    const { CliError } = await import('../../../src/cli/cli-error.js');
    const { DoorSwapError } = await import('../../../src/firewall/nft/replace-door.js');
    const swap = new DoorSwapError('web', 'ssh_s1_4');
    assert.equal(swap.code, 'E_SWAP');
    assert.equal(swap.name, 'DoorSwapError');
    const cli = new CliError('E_NO_DOOR', 'no door "x" is loaded', 1);
    assert.ok(cli instanceof SesameError);
    assert.equal(cli.code, 'E_NO_DOOR');
    assert.equal(cli.exitCode, 1);
  });

  test('every code a command raises is listed in docs/errors.md', () => {
    const cliCodes = new Set(
      sources.flatMap(({ text }) => [...text.matchAll(/new CliError\(\s*'(E_[A-Z_]+)'/g)].map((m) => m[1])),
    );
    assert.ok(cliCodes.size >= 10, [...cliCodes].join(' '));
    const missing = [...cliCodes].filter((c) => !documented.has(c));
    assert.deepEqual(missing, []);
  });
});
