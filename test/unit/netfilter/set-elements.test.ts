import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Exec } from '../../../src/firewall/exec.js';
import { Nftables } from '../../../src/firewall/nftables.js';
import type { ElementWriter } from '../../../src/netfilter/element-writer.js';
import { replyErrno } from '../../../src/netfilter/nfnetlink.js';
import { type ElementChange, elementKey, encodeBatch } from '../../../src/netfilter/set-elements.js';

/** Splits a batch into its netlink messages: [type, flags, seq, payload]. */
function messages(bytes: Buffer): { type: number; flags: number; seq: number; body: Buffer }[] {
  const out = [];
  for (let at = 0; at < bytes.length;) {
    const len = bytes.readUInt32LE(at);
    assert.equal(len % 4, 0, 'messages are 4-byte aligned');
    out.push({
      type: bytes.readUInt16LE(at + 4),
      flags: bytes.readUInt16LE(at + 6),
      seq: bytes.readUInt32LE(at + 8),
      body: bytes.subarray(at + 16, at + len),
    });
    at += len;
  }
  return out;
}

/** The attributes after the 4-byte nfgenmsg, as [type without flags, value]. */
function attrs(buf: Buffer): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  for (let at = 0; at < buf.length;) {
    const len = buf.readUInt16LE(at);
    out.push([buf.readUInt16LE(at + 2) & 0x3fff, buf.subarray(at + 4, at + len)]);
    at += len + ((4 - (len % 4)) % 4);
  }
  return out;
}

test('a grant refresh is one batch: begin, add, delete, add, end, each change acknowledged', () => {
  const key = elementKey(4, '198.18.0.2') as Uint8Array;
  const add = { verb: 'add' as const, set: 'web_open_4', key, timeoutMs: 59_000 };
  const { bytes, seqs } = encodeBatch([add, { verb: 'delete', set: 'web_open_4', key }, add], 100);
  const msgs = messages(bytes);
  assert.deepEqual(
    msgs.map((m) => m.type),
    [0x10, 0x0a0c, 0x0a0e, 0x0a0c, 0x11],
  );
  assert.deepEqual(seqs, [101, 102, 103]);
  assert.deepEqual(
    msgs.map((m) => m.seq),
    [100, 101, 102, 103, 104],
  );
  // ACK asked on the changes; CREATE (without EXCL) on adds, so an element already there is no error
  assert.deepEqual(
    msgs.map((m) => m.flags),
    [0x1, 0x405, 0x5, 0x405, 0x1],
  );
  // batch begin names the nftables subsystem in nfgenmsg.res_id (big endian)
  assert.equal(msgs[0].body.readUInt16BE(2), 10);
  const [table, set, elements] = attrs(msgs[1].body.subarray(4));
  assert.equal(msgs[1].body[0], 1, 'family inet');
  assert.equal(table[1].toString(), 'sesame\0');
  assert.equal(set[1].toString(), 'web_open_4\0');
  const [[, elem]] = attrs(elements[1]);
  const [[keyType, keyNest], [timeoutType, timeout]] = attrs(elem);
  assert.equal(keyType, 1);
  assert.equal(Buffer.from(attrs(keyNest)[0][1]).toString('hex'), 'c6120002');
  assert.equal(timeoutType, 4);
  assert.equal(timeout.readBigUInt64BE(), 59_000n, 'timeout in ms, big endian');
  // the delete carries no timeout
  assert.equal(attrs(attrs(attrs(msgs[2].body.subarray(4))[2][1])[0][1]).length, 1);
});

test('changes of the same verb and set share one message; a new set or verb starts the next', () => {
  const k = (a: string) => elementKey(4, a) as Uint8Array;
  const { bytes, seqs } = encodeBatch(
    [
      { verb: 'add', set: 'a_open_4', key: k('198.18.0.1') },
      { verb: 'add', set: 'a_open_4', key: k('198.18.0.2') },
      { verb: 'add', set: 'b_open_4', key: k('198.18.0.3') },
      { verb: 'delete', set: 'b_open_4', key: k('198.18.0.3') },
    ],
    1,
  );
  assert.equal(seqs.length, 3);
  const first = messages(bytes)[1];
  assert.equal(attrs(attrs(first.body.subarray(4))[2][1]).length, 2, 'two elements in the first message');
});

test('per-port keys pad proto and port to whole 32-bit registers, as nft concatenations do', () => {
  assert.equal(
    Buffer.from(elementKey(4, '198.18.0.2', { proto: 'tcp', port: 22 }) ?? []).toString('hex'),
    'c6120002' + '06000000' + '00160000',
  );
  assert.equal(
    Buffer.from(elementKey(6, 'fd00:5e5a::2', { proto: 'udp', port: 62201 }) ?? []).toString('hex'),
    'fd005e5a000000000000000000000002' + '11000000' + 'f2f90000',
  );
  // the family must match the set's: an IPv4 address never goes into an IPv6 set
  assert.equal(elementKey(6, '198.18.0.2'), null);
  assert.equal(elementKey(4, '198.18.0.2; flush ruleset'), null);
});

test('replyErrno reads the kernel answer: 0 is an ACK, a negative errno a refusal', () => {
  const ack = Buffer.alloc(20);
  assert.equal(replyErrno(ack), 0);
  const enoent = Buffer.alloc(20);
  enoent.writeInt32LE(-2);
  assert.equal(replyErrno(enoent), 2);
  assert.equal(replyErrno(Buffer.alloc(2)), -1, 'a truncated answer is not an ACK');
});

/** An nft that answers the in-place probe's listing with `timeoutS`, and a writer that records batches. */
function netlinkNftables(listing: { code: number; stdout: string }) {
  const batches: ElementChange[][] = [];
  const scripts: string[] = [];
  const exec: Exec = async (_file, args, input) => {
    scripts.push(`${args.join(' ')} ${input ?? ''}`);
    if (args.includes('list')) return { ...listing, stderr: '', signal: null };
    return { code: 0, stdout: '', stderr: '', signal: null };
  };
  const writer: ElementWriter = { write: async (c) => void batches.push([...c]), close: () => {} };
  return { nft: new Nftables(exec, 'nft', writer), batches, scripts };
}

test('a refresh is one add where the kernel restarts timeouts on re-add, add/delete/add elsewhere', async () => {
  const listed = (s: number) =>
    JSON.stringify({ nftables: [{ set: { elem: [{ elem: { val: '192.0.2.1', timeout: s } }] } }] });
  const recent = netlinkNftables({ code: 0, stdout: listed(3600) });
  await recent.nft.grant('web', 4, '198.18.0.2', 59_000);
  assert.deepEqual(
    recent.batches[0].map((c) => c.verb),
    ['add'],
  );
  // the probe ran in its own table, which is removed afterwards
  assert.match(recent.scripts.join('\n'), /sesame_probe/);
  assert.match(recent.scripts.at(-1) ?? '', /^delete table inet sesame_probe/);

  const older = netlinkNftables({ code: 0, stdout: listed(10) });
  await older.nft.grant('web', 4, '198.18.0.2', 59_000);
  assert.deepEqual(
    older.batches[0].map((c) => c.verb),
    ['add', 'delete', 'add'],
  );
  // a probe that can't tell answers "no": the slower way is always right
  const failing = netlinkNftables({ code: 1, stdout: '' });
  await failing.nft.grant('web', 4, '198.18.0.2', 59_000);
  assert.equal(failing.batches[0].length, 3);
});
