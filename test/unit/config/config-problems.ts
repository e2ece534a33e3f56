import assert from 'node:assert/strict';
import { ConfigError } from '../../../src/config/config-error.js';
import { parseConfig } from '../../../src/config/load-config.js';

/** The lines of the ConfigError that `yaml` (as sesame.yaml) is refused with; fails the test if it loads. */
export function configProblems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'sesame.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message.split('\n');
  }
  assert.fail('expected a ConfigError');
}
