import { readFileSync } from 'node:fs';
import { ConfigError } from '../../config/config-error.js';
import { parseKnockdConf } from '../../config/knockd-conf.js';
import { knockdToYaml } from '../../config/knockd-import.js';

/**
 * `sesame import knockd.conf > sesame.yaml`: prints the equivalent sesame.yaml. Changes
 * nothing; a malformed knockd.conf fails with file:line errors like `serve --knockd-conf`.
 */
export function importCommand(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String(cause);
    throw new ConfigError([{ file, line: 0, column: 0, field: '', message: reason }]);
  }
  return knockdToYaml(parseKnockdConf(text, file));
}
