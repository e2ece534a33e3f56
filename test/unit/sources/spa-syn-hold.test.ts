import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeQueued, queueCommand, verdictBody } from '../../../src/netfilter/nfqueue-codec.js';
import { SynHold } from '../../../src/sources/spa/syn-hold.js';

const syn = (id: number, source: string, port = 22) => ({
  id,
  family: 4 as const,
  source,
  protocol: 6,
  destPort: port,
});

function hold(deadlineMs = 50) {
  const verdicts: [number, boolean][] = [];
  const h = new SynHold({ verdict: (id, accept) => verdicts.push([id, accept]), deadlineMs });
  return { h, verdicts };
}

test('a held SYN passes when its address is granted that port, and only then', () => {
  const { h, verdicts } = hold();
  h.held(syn(1, '198.18.0.2'));
  h.held(syn(2, '198.18.0.3'));
  assert.deepEqual(verdicts, [], 'nothing decided before the SPA packet is');
  h.granted('198.18.0.2', [{ proto: 'tcp', port: 22 }]);
  assert.deepEqual(verdicts, [[1, true]]);
  assert.equal(h.size, 1, "the other address's SYN still waits");
  h.close();
  assert.deepEqual(verdicts, [
    [1, true],
    [2, false],
  ]);
});

test('a grant for another port does not let the SYN through; the deadline drops it', async () => {
  const { h, verdicts } = hold(20);
  h.held(syn(1, '198.18.0.2', 22));
  h.granted('198.18.0.2', [{ proto: 'tcp', port: 2222 }]);
  assert.deepEqual(verdicts, []);
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(verdicts, [[1, false]]);
  assert.equal(h.size, 0);
});

test('a SYN queued before the grant but read after it passes at once', () => {
  const { h, verdicts } = hold();
  h.granted('198.18.0.2', [{ proto: 'tcp', port: 22 }]);
  h.held(syn(7, '198.18.0.2'));
  assert.deepEqual(verdicts, [[7, true]]);
  h.close();
});

test('what is not TCP or UDP with a port is dropped at once', () => {
  const { h, verdicts } = hold();
  h.held({ id: 3, family: 4, source: '198.18.0.2', protocol: 1, destPort: null });
  assert.deepEqual(verdicts, [[3, false]]);
});

test('NFQUEUE messages: bind and verdict bodies, and a queued packet decoded', () => {
  // nfgenmsg: AF_UNSPEC, version 0, queue number big endian; then NFQA_CFG_CMD {BIND, pad, pf}
  assert.equal(queueCommand(7331, 1).toString('hex'), '00001ca3' + '08000100' + '01000000');
  // NFQA_VERDICT_HDR {verdict, id}, both big endian
  assert.equal(verdictBody(7331, 42, 1).toString('hex'), '00001ca3' + '0c000200' + '00000001' + '0000002a');
  const ip = Buffer.alloc(40);
  ip[0] = 0x45;
  ip[9] = 6;
  Buffer.from([198, 18, 0, 2]).copy(ip, 12);
  ip.writeUInt16BE(22, 22);
  const attr = (type: number, value: Buffer) => {
    const b = Buffer.alloc((4 + value.length + 3) & ~3);
    b.writeUInt16LE(4 + value.length, 0);
    b.writeUInt16LE(type, 2);
    value.copy(b, 4);
    return b;
  };
  const hdr = Buffer.alloc(7);
  hdr.writeUInt32BE(9, 0);
  const body = Buffer.concat([Buffer.alloc(4), attr(1, hdr), attr(10, ip)]);
  assert.deepEqual(decodeQueued(body)?.packet && { ...decodeQueued(body)?.packet, data: undefined }, {
    id: 9,
    family: 4,
    source: '198.18.0.2',
    protocol: 6,
    destPort: 22,
    data: undefined,
  });
  // an id without a readable packet still needs a verdict; no id at all is nothing to answer
  assert.deepEqual(decodeQueued(Buffer.concat([Buffer.alloc(4), attr(1, hdr), attr(10, Buffer.from([0x45]))])), {
    id: 9,
    packet: null,
  });
  assert.equal(decodeQueued(Buffer.concat([Buffer.alloc(4), attr(10, ip)])), null);
  // hostile lengths never throw
  assert.equal(decodeQueued(Buffer.from([0, 0, 0, 0, 0xff, 0xff, 1, 0])), null);
});
