import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { SshAgentError, SshAgent } from './ssh-agent.js';
import { parseSshKeyLine, type SshPublicKey } from '../core/ssh/ssh-public-key.js';
import { decodeSshSig, SSHSIG_NAMESPACE, unarmorSshSig } from '../core/ssh/sshsig.js';
import { sshSigBy } from '../core/spa/signed-sign.js';

/**
 * Who signs an ssh knock: the ssh-agent (SSH_AUTH_SOCK), or with `--ssh-key FILE` that key,
 * through the agent when it holds it and else `ssh-keygen -Y sign -f FILE` (which asks for the
 * passphrase itself). Each candidate makes an SSHSIG blob over a packet's signed part.
 */
export interface SshCandidate {
  readonly key: SshPublicKey;
  readonly sshsig: (signed: Buffer) => Promise<Uint8Array>;
}

/** The keys to try, in order: the one named, or every key of the agent sesame can check. */
export async function sshCandidates(keyFile: string | undefined, env = process.env): Promise<SshCandidate[]> {
  const agent = env.SSH_AUTH_SOCK ? new SshAgent(env.SSH_AUTH_SOCK) : null;
  if (keyFile) {
    const key = publicKeyOf(keyFile);
    const held = agent ? await agent.keys().catch(() => []) : [];
    if (agent && held.some((k) => k.blob.equals(key.blob)))
      return [{ key, sshsig: sshSigBy(key.blob, (data) => agent.sign(key.blob, data)) }];
    const privateFile = keyFile.endsWith('.pub') ? keyFile.slice(0, -4) : keyFile;
    if (!existsSync(privateFile))
      throw new SshAgentError(`${privateFile}: no private key, and the agent does not hold ${key.fingerprint}`);
    return [{ key, sshsig: (signed) => keygenSign(privateFile, signed) }];
  }
  if (!agent) throw new SshAgentError('no ssh-agent: SSH_AUTH_SOCK is not set (start one, or give --ssh-key FILE)');
  const out: SshCandidate[] = [];
  for (const k of await agent.keys()) {
    const key = parseSshKeyLine(`${blobType(k.blob)} ${k.blob.toString('base64')} ${k.comment}`);
    if (typeof key === 'string') continue; // a key type sesame can't check (FIDO, DSA, short RSA)
    out.push({ key, sshsig: sshSigBy(key.blob, (data) => agent.sign(key.blob, data)) });
  }
  if (out.length === 0) throw new SshAgentError('the ssh-agent holds no ed25519, ecdsa or rsa key (ssh-add one)');
  return out;
}

function blobType(blob: Buffer): string {
  return blob.length >= 4 ? blob.subarray(4, 4 + blob.readUInt32BE(0)).toString('latin1') : '';
}

/** FILE.pub (or FILE itself when it is the public key) as a key. */
function publicKeyOf(file: string): SshPublicKey {
  const pub = file.endsWith('.pub') ? file : `${file}.pub`;
  let text: string;
  try {
    text = readFileSync(pub, 'utf8');
  } catch (err) {
    throw new SshAgentError(`${pub}: cannot read the public key (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  const key = parseSshKeyLine(text);
  if (typeof key === 'string') throw new SshAgentError(`${pub}: ${key}`);
  return key;
}

/** `ssh-keygen -Y sign` of `message` from stdin; its armored signature from stdout. */
function keygenSign(privateFile: string, message: Buffer): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'ssh-keygen',
      ['-q', '-Y', 'sign', '-f', privateFile, '-n', SSHSIG_NAMESPACE],
      { encoding: 'utf8', timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err)
          return reject(new SshAgentError(`ssh-keygen -Y sign -f ${privateFile}: ${stderr.trim() || err.message}`));
        const blob = unarmorSshSig(stdout);
        const sig = blob && decodeSshSig(blob);
        if (!blob || !sig || typeof sig === 'string')
          return reject(new SshAgentError(`ssh-keygen -Y sign printed no SSH signature`));
        resolve(blob);
      },
    );
    child.stdin?.end(message);
  });
}
