import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfigFile } from '../../../src/config/load-config.js';

// dist/test/unit/config -> the repository's packaging/ (not compiled)
const SHIPPED = readFileSync(join(import.meta.dirname, '..', '..', '..', '..', 'packaging', 'sesame.yaml'), 'utf8');

/** The example doors: each `#   name:` line under `doors:` and its more-indented lines. */
function exampleDoors(text: string): { name: string; lines: number[]; needsHttp: boolean }[] {
  const lines = text.split('\n');
  const doors: { name: string; lines: number[]; needsHttp: boolean }[] = [];
  const from = lines.indexOf('doors:');
  // the doors section ends at the next top-level block (`# http:`)
  const to = lines.findIndex((l, i) => i > from && /^# [a-z]/.test(l));
  lines.forEach((l, i) => {
    if (i <= from || i >= to) return;
    const start = /^# {3}([a-z][\w-]*):/.exec(l);
    if (start) doors.push({ name: start[1], lines: [i], needsHttp: false });
    else if (doors.length && /^# {5}\S/.test(l) && doors.at(-1)!.lines.at(-1) === i - 1) doors.at(-1)!.lines.push(i);
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
  const check = (text: string) => {
    const file = join(dir, 'sesame.yaml');
    writeFileSync(file, text);
    return loadConfigFile(file);
  };

  test('as installed it checks and enables no door', () => {
    assert.deepEqual(check(SHIPPED).doors, []);
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
      const plan = check(uncomment(SHIPPED, lines));
      assert.deepEqual(
        plan.doors.map((d) => d.name),
        [door.name],
      );
    });
});
