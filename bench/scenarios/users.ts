import type { ChildProcess } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load-config.js';
import type { SpaDoor } from '../../src/core/door.js';
import { makeHmacToken, verifyHmacToken } from '../../src/core/knock-token.js';
import { ed25519PublicText } from '../../src/core/spa/ed25519-keys.js';
import { SignedSpaGate } from '../../src/core/spa/signed-admit.js';
import { signEd25519Packet, signSshPacket, sshSigBy } from '../../src/core/spa/signed-sign.js';
import { sshString } from '../../src/core/ssh/ssh-wire.js';
import { createLab } from '../../src/lab/netns.js';
import { startDaemon } from '../../src/lab/processes.js';
import { signersFromUsers } from '../../src/sources/spa/signers.js';
import { sampleProc } from '../proc-stats.js';
import type { BenchContext, BenchResult } from '../result.js';
import { round } from '../stats.js';

/**
 * Teams at scale: a users file of 10,000 users, each with an ed25519 SPA key and an ssh key
 * (a few with RSA 3072). Figures: the users file's load time (the whole config, as `serve`
 * reads it), verifications per second on one core (this process, one thread) of valid signed
 * SPA packets (ed25519; SSHSIG with ed25519 and RSA keys) and of HMAC tokens with the user's
 * key looked up among 10,000, and the daemon's RSS with 10,000 users against one.
 */

const FULL_USERS = 10_000;
const RSA_USERS = 8;

interface BenchUser {
  readonly name: string;
  readonly spa: KeyObject;
  readonly ssh: KeyObject;
  readonly sshBlob: Buffer;
  readonly hmac: Buffer;
}

export async function users(ctx: BenchContext): Promise<BenchResult[]> {
  // --quick keeps the harness check short: 1,000 users (the figures are for a full run)
  const USERS = ctx.quick ? 1000 : FULL_USERS;
  const packets = ctx.quick ? 2000 : 40_000;
  const sshPackets = ctx.quick ? 400 : 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'sesame-bench-users-'));
  try {
    ctx.log(`users: making ${USERS} users`);
    const people = makeUsers(USERS);
    const file = join(dir, 'users.yaml');
    writeFileSync(file, usersYaml(people), { mode: 0o600 });
    const yaml = `users: users.yaml\nspa: { udp: 62201 }\ndoors:\n  ssh:\n    spa: {}\n    users: ["@staff"]\n    open: [22]\n`;
    writeFileSync(join(dir, 'sesame.yaml'), yaml);

    const t0 = performance.now();
    const plan = parseConfig(yaml, join(dir, 'sesame.yaml'));
    const loadMs = performance.now() - t0;
    const door = plan.doors[0] as SpaDoor;
    const t1 = performance.now();
    const signers = signersFromUsers(plan.users, () => {});
    const gate = new SignedSpaGate([door], signers);
    for (const u of people) signers.keys(u.name);
    const keysMs = performance.now() - t1;

    ctx.log(`users: ${packets} ed25519 packets`);
    const pick = (i: number) => people[(i * 7919) % people.length];
    const request = (u: BenchUser) => ({
      user: u.name,
      door: 'ssh',
      address: '198.18.0.2',
      lifetimeS: 0,
      ports: [{ proto: 'tcp' as const, port: 22 }],
    });
    const ed = Array.from({ length: packets }, (_, i) => signEd25519Packet(request(pick(i)), pick(i).spa));
    const edRate = await rate(gate, ed);
    // the floor: node:crypto's ed25519 verify alone, same host, same moment (the host's load moves both)
    const raw = ed.slice(0, 4000).map((p, i) => ({ p, key: createPublicKey(pick(i).spa) }));
    const r0 = performance.now();
    let rawOk = 0;
    for (const { p, key } of raw)
      if (verify(null, p.subarray(0, p.length - 66), key, p.subarray(p.length - 64))) rawOk++;
    const rawRate = rawOk / ((performance.now() - r0) / 1000);

    ctx.log(`users: ${sshPackets} SSHSIG packets (ed25519, rsa)`);
    const sshsig = async (u: BenchUser, hash: string | null) =>
      signSshPacket(
        request(u),
        sshSigBy(u.sshBlob, async (data) =>
          Buffer.concat([sshString(hash ? 'rsa-sha2-512' : 'ssh-ed25519'), sshString(sign(hash, data, u.ssh))]),
        ),
      );
    const sshEd: Buffer[] = [];
    for (let i = 0; i < sshPackets; i++)
      sshEd.push(await sshsig(people[RSA_USERS + ((i * 7919) % (people.length - RSA_USERS))], null));
    const sshRsa: Buffer[] = [];
    for (let i = 0; i < sshPackets / 4; i++) sshRsa.push(await sshsig(people[i % RSA_USERS], 'sha512'));
    const sshEdRate = await rate(gate, sshEd);
    const sshRsaRate = await rate(gate, sshRsa);

    ctx.log('users: HMAC tokens');
    const keys = new Map(people.map((u) => [u.name, u.hmac]));
    const now = Date.now();
    const tokens = Array.from(
      { length: packets },
      (_, i) => [pick(i).name, makeHmacToken(pick(i).hmac, 'ssh', now)] as const,
    );
    const h0 = performance.now();
    let hmacOk = 0;
    for (const [name, t] of tokens) if (verifyHmacToken(keys.get(name)!, t, 'ssh', now)) hmacOk++;
    const hmacRate = hmacOk / ((performance.now() - h0) / 1000);

    ctx.log('users: daemon RSS with 10,000 users and with 1');
    const rssMany = await daemonRss(dir, 'users.yaml', 'usersmany');
    writeFileSync(join(dir, 'one.yaml'), usersYaml(people.slice(0, 1)), { mode: 0o600 });
    writeFileSync(join(dir, 'sesame.yaml'), yaml.replace('users: users.yaml', 'users: one.yaml'));
    const rssOne = await daemonRss(dir, 'one.yaml', 'usersone');

    return [
      {
        scenario: 'users',
        tool: 'sesame',
        figures: {
          users: USERS,
          users_file_kb: round(Buffer.byteLength(usersYaml(people)) / 1024),
          load_ms: round(loadMs),
          key_objects_ms: round(keysMs),
          ed25519_spa_valid_per_s: round(edRate.perS),
          ed25519_spa_accepted: `${edRate.ok}/${ed.length}`,
          node_ed25519_verify_per_s: round(rawRate),
          ed25519_spa_share_of_bare_verify: round(edRate.perS / rawRate),
          sshsig_ed25519_valid_per_s: round(sshEdRate.perS),
          sshsig_rsa3072_valid_per_s: round(sshRsaRate.perS),
          sshsig_accepted: `${sshEdRate.ok + sshRsaRate.ok}/${sshEd.length + sshRsa.length}`,
          hmac_token_with_user_valid_per_s: round(hmacRate),
          daemon_rss_kb_all_users: rssMany,
          daemon_rss_kb_1_user: rssOne,
        },
        notes: [
          'one core: this bench process, one thread, the gate as the daemon runs it (decode, door, user, window, ports, signature, replay answered in memory)',
          "load_ms: the whole config (sesame.yaml + users.yaml, every key decoded and checked) as serve reads it in its config child; key_objects_ms: the KeyObjects made for every user (the daemon makes them on a user's first knock)",
          'node_ed25519_verify_per_s: crypto.verify alone on the same packets: the ceiling any ed25519 SPA path in node has on this host; the goal (20,000/s) needs a core that verifies faster',
          'hmac_token_with_user: the token format does not carry the user yet; this is the per-user key looked up among 10,000, then the HMAC check',
          'daemon RSS: sesame serve with the spa door loaded and listening, 2 s after start, no knocks',
        ],
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function rate(gate: SignedSpaGate, packets: readonly Buffer[]): Promise<{ perS: number; ok: number }> {
  let ok = 0;
  const t = performance.now();
  for (const p of packets) if ((await gate.admit(p, '198.18.0.2', Date.now(), () => true)).ok) ok++;
  return { perS: ok / ((performance.now() - t) / 1000), ok };
}

function makeUsers(count: number): BenchUser[] {
  return Array.from({ length: count }, (_, i) => {
    const spa = generateKeyPairSync('ed25519').privateKey;
    const ssh =
      i < RSA_USERS
        ? generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey
        : generateKeyPairSync('ed25519').privateKey;
    return { name: `user${i}`, spa, ssh, sshBlob: sshBlob(ssh), hmac: randomBytes(32) };
  });
}

function sshBlob(priv: KeyObject): Buffer {
  const jwk = createPublicKey(priv).export({ format: 'jwk' });
  if (jwk.kty === 'OKP') return Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.from(jwk.x!, 'base64url'))]);
  const mpint = (b64: string) => {
    const b = Buffer.from(b64, 'base64url');
    return sshString(b[0] & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
  };
  return Buffer.concat([sshString('ssh-rsa'), mpint(jwk.e!), mpint(jwk.n!)]);
}

function usersYaml(people: readonly BenchUser[]): string {
  const lines = ['users:'];
  for (const u of people) {
    const type = u.ssh.asymmetricKeyType === 'rsa' ? 'ssh-rsa' : 'ssh-ed25519';
    lines.push(
      `  ${u.name}:`,
      '    groups: [staff]',
      `    spa_keys: ["${ed25519PublicText(u.spa)}"]`,
      `    ssh_keys: ["${type} ${u.sshBlob.toString('base64')} ${u.name}@bench"]`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function daemonRss(dir: string, usersFile: string, name: string): Promise<number> {
  const lab = createLab({ clients: 1, name });
  let daemon: ChildProcess | undefined;
  try {
    const state = join(dir, `state-${usersFile}`);
    daemon = await startDaemon(lab, lab.server, ['-c', join(dir, 'sesame.yaml'), '--state-dir', state]);
    await new Promise((r) => setTimeout(r, 2000));
    return sampleProc(daemon.pid as number).rssKb;
  } finally {
    daemon?.kill('SIGKILL');
    lab.destroy();
  }
}
