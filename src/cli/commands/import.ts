import { readConfigText } from '../../config/load-config.js';
import { parseKnockdConf } from '../../config/knockd-conf.js';
import { knockdToYaml } from '../../config/knockd-import.js';

/**
 * `sesame import knockd.conf > sesame.yaml`: prints the equivalent sesame.yaml. Changes
 * nothing; a malformed knockd.conf fails with file:line errors like `serve --knockd-conf`.
 */
export function importCommand(file: string): string {
  const text = readConfigText(file);
  return knockdToYaml(parseKnockdConf(text, file));
}
