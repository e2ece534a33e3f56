import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CliError } from '../cli-error.js';
import { fwknopAccessToYaml } from '../../config/fwknop-import.js';
import { readConfigText } from '../../config/load-config.js';
import { parseKnockdConf } from '../../config/knockd-conf.js';
import { knockdToYaml } from '../../config/knockd-import.js';
import { type FwknopFlags, fwknopOptions } from './fwknop-flags.js';

/**
 * `sesame import knockd.conf > sesame.yaml`: prints the equivalent sesame.yaml. Changes
 * nothing; a malformed knockd.conf fails with file:line errors like `serve --knockd-conf`.
 */
export function importCommand(file: string): string {
  const text = readConfigText(file);
  return knockdToYaml(parseKnockdConf(text, file));
}

/**
 * `sesame import --fwknop-access access.conf [--keys-dir DIR] > sesame.yaml`: one spa door per
 * stanza. Keys stay out of the YAML: with --keys-dir each door's key file is written there
 * (0600, never overwritten); without it the YAML names /etc/sesame/<door>.keys to create.
 */
export function importFwknopCommand(file: string, keysDir?: string, flags: FwknopFlags = {}): string {
  // absolute: sesame.yaml's paths are read relative to the YAML's folder, not this shell's
  const dir = keysDir ? resolve(keysDir) : '/etc/sesame';
  const { yaml, keys } = fwknopAccessToYaml(readConfigText(file), file, dir, fwknopOptions(flags));
  if (keysDir) {
    const there = keys.map((k) => join(dir, k.name)).filter((p) => existsSync(p));
    if (there.length > 0)
      throw new CliError(
        'E_USAGE',
        `--keys-dir ${keysDir}: ${there.join(', ')} already exist${there.length === 1 ? 's' : ''}; key files are never overwritten (remove them or pick another folder)`,
        1,
      );
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const k of keys) writeFileSync(join(dir, k.name), k.text, { mode: 0o600, flag: 'wx' });
  }
  return yaml;
}
