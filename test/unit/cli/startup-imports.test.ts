import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * Every source file and package a compiled module loads when it is imported: its static
 * imports, transitively (what `import()` loads later is left out), from esbuild's metafile.
 */
async function loadedAtImport(entry: string): Promise<string[]> {
  const r = await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    write: false,
    metafile: true,
    outdir: '/nonexistent',
    external: ['netlink', 'netlink/*'],
    logLevel: 'silent',
  });
  const outputs: Metafile['outputs'] = r.metafile.outputs;
  const start = Object.keys(outputs).find((o) => outputs[o].entryPoint === entry)!;
  const seen = new Set<string>();
  const stack = [start];
  while (stack.length) {
    const o = stack.pop()!;
    if (seen.has(o)) continue;
    seen.add(o);
    for (const i of outputs[o].imports) if (i.kind === 'import-statement' && outputs[i.path]) stack.push(i.path);
  }
  return [...seen].flatMap((o) => Object.keys(outputs[o].inputs)).map((p) => p.replace(/^.*node_modules\//, ''));
}

const matching = (files: string[], pattern: RegExp) => [...new Set(files.filter((f) => pattern.test(f)))];

describe('modules loaded at start', () => {
  test('serve and the daemon load no config parser, Redis or metrics client, nor any door kind’s source (only main.ts loads commander)', async () => {
    const files = await loadedAtImport('dist/src/cli/commands/serve.js');
    assert.ok(files.includes('dist/src/daemon/daemon.js'), 'positive control: the daemon itself is loaded');
    const heavy =
      /^(zod|yaml|commander|ioredis|prom-client|playwright-core)\/|dist\/src\/(config\/(load-config|schema|knockd-plan|fwknop-plan)|sources\/(http|logwatch|spa)\/|sources\/shared-token|core\/fail2ban|fleet)\b/;
    assert.deepEqual(matching(files, heavy), []);
  });

  test("nothing imports netlink's package index, which loads every netlink family (about 4 MB)", () => {
    const src = join(ROOT, 'src');
    const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    const imports = (pattern: RegExp) => files.filter((f) => pattern.test(readFileSync(join(src, f), 'utf8')));
    assert.ok(imports(/from 'netlink\/dist\/netlink\.js'/).length >= 1, 'positive control: the socket module is used');
    assert.deepEqual(imports(/from 'netlink'/), []);
  });

  test('a ProxyCommand (knock --proxy with --secret-file) loads neither the YAML parser nor the schema', async () => {
    const files = await loadedAtImport('dist/src/cli/commands/knock.js');
    assert.ok(files.includes('dist/src/client/proxy.js'), 'positive control: the relay is loaded');
    assert.deepEqual(
      matching(files, /^(zod|yaml|ioredis|prom-client)\/|dist\/src\/(config\/(load-config|schema)|daemon)\b/),
      [],
    );
  });
});
