import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { loadConfigFile } from '../../../src/config/load-config.js';

// dist/test/unit/config -> the repository's packaging/ (not compiled)
const bin = fileURLToPath(new URL('../../../src/cli/bin.js', import.meta.url));
const SHIPPED = readFileSync(join(import.meta.dirname, '..', '..', '..', '..', 'packaging', 'sesame.yaml'), 'utf8');

/**
 * The example doors: under the `doors:` key (up to the next commented top-level key, `# http:`),
 * each commented line that, with "# " removed, is an indented `name:`, and the commented lines
 * right after it that are indented deeper. Read from the text, not from today's layout, so a
 * template whose doors sit at the wrong column is found and fails its check.
 */
function exampleDoors(text: string): { name: string; lines: number[]; needsHttp: boolean }[] {
  const lines = text.split('\n');
  const doors: { name: string; lines: number[]; needsHttp: boolean }[] = [];
  const from = lines.findIndex((l) => /^doors:/.test(l));
  const to = lines.findIndex((l, i) => i > from && /^(# )?[a-z]\w*:/.test(l));
  const indent = (l: string) => /^# ( *)/.exec(l)![1].length;
  let column = -1;
  lines.forEach((l, i) => {
    if (from < 0 || i <= from || (to >= 0 && i >= to) || !l.startsWith('# ')) return;
    const start = /^# +([a-z][\w-]*):/.exec(l);
    if (start && indent(l) > 0 && (column < 0 || indent(l) === column)) {
      column = indent(l);
      doors.push({ name: start[1], lines: [i], needsHttp: false });
    } else if (doors.length && indent(l) > column && doors.at(-1)!.lines.at(-1) === i - 1 && /^# +\S/.test(l))
      doors.at(-1)!.lines.push(i);
  });
  for (const d of doors) d.needsHttp = d.lines.some((i) => lines[i].includes('`http:` below'));
  return doors;
}

/** The text with the given lines uncommented the way the header says: remove "# ". */
function uncomment(text: string, which: number[]): string {
  return text
    .split('\n')
    .map((l, i) => (which.includes(i) ? l.replace(/^# /, '') : l))
    .join('\n');
}

const httpBlock = (text: string) => {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('# http:'));
  const out = [start];
  while (lines[out.at(-1)! + 1]?.startsWith('#   ')) out.push(out.at(-1)! + 1);
  return out;
};

describe('the shipped /etc/sesame/sesame.yaml (packaging/sesame.yaml)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-shipped-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // the files its comments tell the admin to make, in the config's folder (relative paths)
  writeFileSync(join(dir, 'ssh-web.key'), 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n', { mode: 0o600 });
  mkdirSync(join(dir, 'tls'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=sesame',
      '-keyout',
      join(dir, 'tls', 'key.pem'),
      '-out',
      join(dir, 'tls', 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  chmodSync(join(dir, 'tls', 'key.pem'), 0o600);
  /** `sesame check` on TEXT as the admin runs it (without the kernel's `nft -c`: no root here). */
  const check = (text: string) => {
    const file = join(dir, 'sesame.yaml');
    writeFileSync(file, text);
    return spawnSync(process.execPath, [bin, 'check', '--no-kernel', '-c', file], { encoding: 'utf8' });
  };
  /** The doors a ruleset `check` printed has grant sets for. */
  const doorsIn = (ruleset: string) => [...new Set([...ruleset.matchAll(/\bset (\S+)_open_4 /g)].map((m) => m[1]))];

  test('as installed it checks and enables no door', () => {
    const r = check(SHIPPED);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(doorsIn(r.stdout), []);
    assert.deepEqual(loadConfigFile(join(dir, 'sesame.yaml')).doors, []);
  });

  test('it has the example doors its comment promises', () => {
    assert.deepEqual(
      exampleDoors(SHIPPED).map((d) => d.name),
      ['ssh', 'ssh-single', 'ssh-web'],
    );
  });

  for (const door of exampleDoors(SHIPPED))
    test(`uncommenting "${door.name}" alone (and what its comment names) gives a config check accepts`, () => {
      const lines = [...door.lines, ...(door.needsHttp ? httpBlock(SHIPPED) : [])];
      const r = check(uncomment(SHIPPED, lines));
      assert.equal(r.status, 0, `sesame check refused it:\n${r.stderr}`);
      assert.deepEqual(doorsIn(r.stdout), [door.name]);
    });

  test('the control: the same door under the `doors: {}` the template once had is refused, at its line', () => {
    const door = exampleDoors(SHIPPED)[0];
    const r = check(uncomment(SHIPPED.replace(/^doors:$/m, 'doors: {}'), door.lines));
    assert.notEqual(r.status, 0, r.stdout);
    assert.match(r.stderr, new RegExp(`sesame\\.yaml:${door.lines[0] + 1}:`));
  });
});
