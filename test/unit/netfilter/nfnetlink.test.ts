import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attr, MessageWriter, nfgenmsg, readAttributes, replyErrno } from '../../../src/netfilter/nfnetlink.js';

test('an attribute is length, type, value, zero-padded to 4 bytes', () => {
  assert.equal(attr(10, Buffer.from('ab')).toString('hex'), '06000a00' + '6162' + '0000');
  assert.equal(attr(1, Buffer.from([1, 2, 3, 4])).toString('hex'), '08000100' + '01020304', 'no padding when aligned');
  assert.equal(attr(2, Buffer.alloc(0)).toString('hex'), '04000200');
});

test('nfgenmsg carries AF_UNSPEC, version 0 and the resource id big endian', () => {
  assert.equal(nfgenmsg(0x1234).toString('hex'), '00001234');
});

test('readAttributes reads what attr() wrote, masks flag bits, and reports a cut-off tail', () => {
  const body = Buffer.concat([nfgenmsg(7), attr(1, Buffer.from('x')), attr(0x8000 | 3, Buffer.from('yz'))]);
  const { attrs, complete } = readAttributes(body);
  assert.equal(complete, true);
  assert.deepEqual([...attrs.keys()], [1, 3]);
  assert.equal(attrs.get(3)?.toString(), 'yz');

  const cut = readAttributes(body.subarray(0, body.length - 3));
  assert.equal(cut.complete, false);
  assert.deepEqual([...cut.attrs.keys()], [1], 'what came before the cut is still there');
});

test('MessageWriter fills in message and nest lengths and grows past its first size', () => {
  const w = new MessageWriter(4);
  w.message(0x0a0c, 0x405, 9, () => {
    w.nfgen(1, 0);
    w.nest(3, () => w.attr(1, Buffer.from('abcde')));
    w.attrU64(4, 59_000);
  });
  const bytes = w.done();
  assert.equal(bytes.readUInt32LE(0), bytes.length, 'message length covers header and body');
  assert.equal(bytes.length, 16 + 4 + (4 + 12) + 12);
  assert.equal(bytes.readUInt16LE(4), 0x0a0c);
  assert.equal(bytes.readUInt16LE(6), 0x405);
  assert.equal(bytes.readUInt32LE(8), 9);
  assert.equal(bytes[16], 1, 'nfgenmsg family');
  assert.equal(bytes.readUInt16LE(20), 16, 'nest length includes its padded attribute');
  assert.equal(bytes.readUInt16LE(22), 0x8000 | 3, 'nest flag set');
  assert.equal(bytes.readBigUInt64BE(40), 59_000n);
});

test('replyErrno: 0 is an ACK, a negative errno a refusal, a short reply is not an ACK', () => {
  const enoent = Buffer.alloc(20);
  enoent.writeInt32LE(-2);
  assert.equal(replyErrno(enoent), 2);
  assert.equal(replyErrno(Buffer.alloc(20)), 0);
  assert.equal(replyErrno(Buffer.alloc(3)), -1);
});
