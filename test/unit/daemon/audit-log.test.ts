import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { verifyChain } from '../../../src/core/audit-chain.js';
import { AUDIT_FILE, AuditLog, readAnchor, wireAudit } from '../../../src/daemon/audit-log.js';
import { DaemonEvents } from '../../../src/daemon/daemon-events.js';

const quiet = { log: () => {} };

describe('the audit log in the state folder', () => {
  test('opens, closes and refusals are written; a restart continues the chain; refusal floods are counted, not written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-audit-'));
    try {
      let now = 1_000_000;
      const events = new DaemonEvents(quiet);
      const first = AuditLog.open(dir, quiet, () => now)!;
      const off = wireAudit(events, first, 'node-a', () => now);
      events.emit('granted', {
        door: 'ssh',
        family: 4,
        address: '198.18.0.10',
        via: 'knock',
        ports: [{ port: 22, proto: 'tcp' }],
        expiresAt: now + 60_000,
        renewed: false,
      });
      for (let i = 0; i < 50; i++) events.emit('refused', { source: 'http', door: 'web', reason: 'bad-token' });
      now += 1000;
      events.emit('revoked', { door: 'ssh', family: 4, address: '198.18.0.10', reason: 'expired', origin: 'node-b' });
      off();
      first.close();

      const second = AuditLog.open(dir, quiet, () => now)!;
      second.write({ event: 'close', door: 'web', address: '198.18.0.11', reason: 'revoked', node: 'node-a' });
      second.close();

      const lines = readFileSync(join(dir, AUDIT_FILE), 'utf8').split('\n').filter(Boolean);
      const recs = lines.map((l) => JSON.parse(l));
      assert.deepEqual(
        recs.map((r) => r.event),
        ['open', ...Array(20).fill('refused'), 'suppressed', 'close', 'close'],
      );
      assert.equal(recs[21].count, 30, 'the 30 refusals past the cap are one line');
      assert.equal(recs[22].node, 'node-b', "a fleet node's close names that node");
      assert.deepEqual(recs[0].ports, ['22/tcp']);
      const result = verifyChain(lines, readAnchor(dir));
      assert.equal(result.ok, true, JSON.stringify(result));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
