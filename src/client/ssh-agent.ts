import { connect } from 'node:net';
import { SesameError } from '../core/sesame-error.js';
import { SshReader, sshString, sshUint32 } from '../core/ssh/ssh-wire.js';

/**
 * A small ssh-agent client (the agent protocol, draft-ietf-sshm-ssh-agent / RFC 9987): list the
 * agent's keys and ask it to sign. Messages are `uint32 length, byte type, contents` over the
 * unix socket named by SSH_AUTH_SOCK. The private key never leaves the agent.
 */

const REQUEST_IDENTITIES = 11;
const IDENTITIES_ANSWER = 12;
const SIGN_REQUEST = 13;
const SIGN_RESPONSE = 14;
const FAILURE = 5;
/** Sign-request flags: an RSA key signs with SHA-2 (RFC 8332), never SHA-1. */
const RSA_SHA2_512 = 4;
const MAX_ANSWER = 256 * 1024;

export class SshAgentError extends SesameError {
  static override readonly code = 'E_SSH_AGENT';
  override readonly name = 'SshAgentError';
}

export interface AgentKey {
  readonly blob: Buffer;
  readonly comment: string;
}

/** One request, one answer, over a fresh connection. */
function ask(
  socketPath: string,
  type: number,
  body: Buffer,
  timeoutMs: number,
): Promise<{ type: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (message: string, cause?: unknown) => {
      sock.destroy();
      reject(new SshAgentError(`ssh-agent (${socketPath}): ${message}`, cause ? { cause } : undefined));
    };
    sock.setTimeout(timeoutMs, () => fail(`no answer in ${timeoutMs} ms (waiting for a confirmation?)`));
    sock.on('error', (err: NodeJS.ErrnoException) =>
      fail(err.code === 'ENOENT' ? 'no agent at this socket' : err.message, err),
    );
    sock.on('connect', () => sock.write(Buffer.concat([sshUint32(body.length + 1), Buffer.from([type]), body])));
    sock.on('data', (d) => {
      chunks.push(d);
      size += d.length;
      const all = Buffer.concat(chunks);
      if (all.length < 4) return;
      const len = all.readUInt32BE(0);
      if (len < 1 || len > MAX_ANSWER) return fail(`answer of ${len} bytes`);
      if (size < 4 + len) return;
      sock.end();
      resolve({ type: all[4], body: all.subarray(5, 4 + len) });
    });
    sock.on('end', () => {
      if (size === 0) fail('closed without an answer');
    });
  });
}

export class SshAgent {
  constructor(
    private readonly socketPath: string,
    private readonly timeoutMs = 30_000,
  ) {}

  /** The agent named by SSH_AUTH_SOCK; an error saying so when there is none. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): SshAgent {
    const path = env.SSH_AUTH_SOCK;
    if (!path) throw new SshAgentError('no ssh-agent: SSH_AUTH_SOCK is not set (start one, or give --ssh-key FILE)');
    return new SshAgent(path);
  }

  async keys(): Promise<AgentKey[]> {
    const a = await ask(this.socketPath, REQUEST_IDENTITIES, Buffer.alloc(0), this.timeoutMs);
    if (a.type !== IDENTITIES_ANSWER) throw new SshAgentError(`ssh-agent answered ${a.type} to the key list`);
    const r = new SshReader(a.body);
    const n = r.uint32();
    if (n === null) throw new SshAgentError('ssh-agent: truncated key list');
    const out: AgentKey[] = [];
    for (let i = 0; i < n; i++) {
      const blob = r.string();
      const comment = r.string();
      if (!blob || !comment) throw new SshAgentError('ssh-agent: truncated key list');
      out.push({ blob: Buffer.from(blob), comment: Buffer.from(comment).toString('utf8') });
    }
    return out;
  }

  /** The SSH signature blob (`string algorithm, string signature`) of `data` by the key `blob`. */
  async sign(blob: Uint8Array, data: Uint8Array): Promise<Buffer> {
    const body = Buffer.concat([sshString(blob), sshString(data), sshUint32(RSA_SHA2_512)]);
    const a = await ask(this.socketPath, SIGN_REQUEST, body, this.timeoutMs);
    if (a.type === FAILURE)
      throw new SshAgentError('ssh-agent refused to sign (key not in the agent, or confirmation denied)');
    if (a.type !== SIGN_RESPONSE) throw new SshAgentError(`ssh-agent answered ${a.type} to a sign request`);
    const sig = new SshReader(a.body).string();
    if (!sig) throw new SshAgentError('ssh-agent: truncated signature');
    return Buffer.from(sig);
  }
}
