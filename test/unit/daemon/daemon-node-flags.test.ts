import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { DAEMON_NODE_FLAGS } from '../../../src/lab/processes.js';

const UNIT = readFileSync(new URL('../../../../packaging/sesame.service', import.meta.url), 'utf8');

describe('the node options of the installed daemon', () => {
  test('sesame.service starts node with the options the tests and the bench run the daemon with', () => {
    const options = /^Environment=NODE_OPTIONS=(.*)$/m.exec(UNIT)?.[1];
    assert.ok(options, 'sesame.service sets NODE_OPTIONS');
    assert.deepEqual(options.split(/\s+/), DAEMON_NODE_FLAGS);
  });
});
