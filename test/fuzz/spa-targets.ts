import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/config-error.js';
import { parseFwknopAccess } from '../../src/config/fwknop-access.js';
import { SpaGate } from '../../src/core/spa/admit.js';
import { parseSpaText } from '../../src/core/spa/message.js';
import { checkWire, makeSpaPacket, openSpaPacket, type SpaKey } from '../../src/core/spa/packet.js';
import { b64Encode } from '../../src/core/spa/base64.js';
import { hmac } from '../../src/core/spa/digest.js';
import { rijndaelEncrypt } from '../../src/core/spa/cipher.js';
import { signedTarget } from './signed-targets.js';

/**
 * Fuzz targets for the SPA decoder and the access.conf reader. Each takes one input and
 * throws only when an invariant breaks: the decoder must return a verdict for any bytes
 * (never throw), and what it accepts must be well-formed; the reader must return doors or
 * a ConfigError, nothing else.
 */

// fwknop's test-suite keys, so the corpus can hold real stock packets
export const FUZZ_KEY: SpaKey = {
  key: Buffer.from('fwknoptest'),
  hmacKey: Buffer.from('hmactest'),
  hmacType: 'sha256',
};
const ACCESS = `SOURCE ANY\nKEY fwknoptest\nHMAC_KEY hmactest\nOPEN_PORTS tcp/22, udp/53\n`;
const gate = new SpaGate(parseFwknopAccess(ACCESS, 'fuzz.conf'));

function checkAccepted(m: { access: readonly { proto: string; port: number }[]; username: string; timestamp: number }) {
  if (m.access.length === 0) throw new Error('accepted a message without ports');
  for (const a of m.access) {
    if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535) throw new Error(`accepted port ${a.port}`);
    if (a.proto !== 'tcp' && a.proto !== 'udp') throw new Error(`accepted proto ${a.proto}`);
  }
  if (!Number.isFinite(m.timestamp)) throw new Error('accepted a non-finite timestamp');
}

/** Raw bytes as they would arrive on the UDP socket. */
export async function wireTarget(input: Buffer): Promise<void> {
  const w = checkWire(input);
  if (!w.ok) return;
  const r = openSpaPacket(w.wire, FUZZ_KEY);
  if (r.ok) checkAccepted(r.message);
  const a = await gate.admit(w.wire, '198.18.0.2', '198.18.0.1', Date.now(), () => true);
  if (a.ok) checkAccepted(a.message);
}

/**
 * A plaintext, encrypted and authenticated with the right keys, so mutations reach the
 * parser behind the HMAC (what a key holder, or a bug in a client, could send).
 */
export async function plaintextTarget(input: Buffer): Promise<void> {
  const r = parseSpaText(input.toString('latin1'));
  if (r.ok) checkAccepted(r.message);
  if (input.length === 0 || input.length > 1000) return;
  const cipherB64 = b64Encode(rijndaelEncrypt(input, FUZZ_KEY.key, false, Buffer.alloc(8, 7)));
  const wire = cipherB64.slice(10) + b64Encode(hmac('sha256', FUZZ_KEY.hmacKey, cipherB64));
  await wireTarget(Buffer.from(wire, 'latin1'));
}

export async function accessTarget(input: Buffer): Promise<void> {
  try {
    const doors = parseFwknopAccess(input.toString('utf8'), 'fuzz.conf');
    await new SpaGate(doors).admit(seedPacket, '198.18.0.2', undefined, Date.now(), () => true);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (err.problems.length === 0) throw new Error('ConfigError without problems');
  }
}

const seedPacket = makeSpaPacket(
  {
    username: 'fuzz',
    timestamp: Math.floor(Date.now() / 1000),
    allowIp: '198.18.0.2',
    access: [{ proto: 'tcp', port: 22 }],
  },
  FUZZ_KEY,
);

export interface Target {
  readonly name: string;
  readonly run: (input: Buffer) => Promise<void>;
  readonly corpus: string;
}

export const TARGETS: readonly Target[] = [
  { name: 'spa-wire', run: wireTarget, corpus: 'spa' },
  { name: 'spa-plaintext', run: plaintextTarget, corpus: 'plaintext' },
  { name: 'access-conf', run: accessTarget, corpus: 'access' },
  { name: 'spa-signed', run: signedTarget, corpus: 'signed' },
];

export function readCorpus(dir: string): Buffer[] {
  return readdirSync(dir)
    .sort()
    .map((f) => readFileSync(join(dir, f)));
}
