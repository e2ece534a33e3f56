import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

const { bundle } = (await import(new URL('../../../../scripts/bundle.mjs', import.meta.url).href)) as {
  bundle: (dest: string) => Promise<void>;
};

describe('the bundled sesame command (.deb, npm package)', () => {
  test('runs a command once (regression: bundled, main.ts ran the CLI as well as bin.js, so every knock went twice)', async () => {
    const dest = mkdtempSync(join(tmpdir(), 'sesame-bundle-'));
    try {
      await bundle(dest);
      const out = execFileSync(process.execPath, [join(dest, 'lib/cli/bin.js'), '--version'], { encoding: 'utf8' });
      assert.equal(out, '0.1.0\n');
      const tree = execFileSync(
        process.execPath,
        [new URL('../../../src/cli/main.js', import.meta.url).pathname, '--version'],
        {
          encoding: 'utf8',
        },
      );
      assert.equal(tree, '0.1.0\n', 'the compiled main.js still runs as a script (dev.sh demo, tests)');
    } finally {
      rmSync(dest, { recursive: true, force: true });
    }
  });
});
