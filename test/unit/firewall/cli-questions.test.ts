import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Exec, type ExecResult, FirewallError } from '../../../src/firewall/exec.js';
import { iptablesRules } from '../../../src/firewall/iptables/iptables-save.js';
import { Nftables } from '../../../src/firewall/nftables.js';

/** A fake nft: every call answers `result`; the calls are recorded. */
function fakeNft(result: Partial<ExecResult>) {
  const calls: { file: string; args: readonly string[] }[] = [];
  const exec: Exec = async (file, args) => {
    calls.push({ file, args });
    return { code: 0, stdout: '', stderr: '', signal: null, ...result };
  };
  return { nft: new Nftables(exec), calls };
}

const ENOENT = 'Error: No such file or directory\nlist set inet sesame web_open_4\n';
const set = (s: Record<string, unknown>) =>
  JSON.stringify({
    nftables: [{ metainfo: { version: '1.0.6' } }, { set: { family: 'inet', table: 'sesame', ...s } }],
  });

describe('the questions the CLI asks the nftables backend', () => {
  test('listTable: the doors (from their grant sets) and grants; null when no table is loaded', async () => {
    const json = JSON.stringify({
      nftables: [
        { set: { name: 'web_open_4', timeout: 60, elem: [{ elem: { val: '198.18.0.10', expires: 42 } }] } },
        { set: { name: 'web_open_6' } },
        { set: { name: 'web_s1_4' } },
        { set: { name: 'ssh_open_6' } },
      ],
    });
    const { nft, calls } = fakeNft({ stdout: json });
    const t = await nft.listTable();
    assert.deepEqual(t?.doors, ['web', 'ssh']);
    assert.deepEqual(
      t?.grants.map((g) => [g.door, g.address, g.expiresMs]),
      [['web', '198.18.0.10', 42_000]],
    );
    assert.deepEqual(calls[0].args, ['-j', 'list', 'table', 'inet', 'sesame']);
    assert.equal(await fakeNft({ code: 1, stderr: ENOENT }).nft.listTable(), null);
  });

  test('grantSetInfo: per address or per port, with its timeout; null when the door is not loaded', async () => {
    const plain = fakeNft({ stdout: set({ name: 'web_open_4', type: 'ipv4_addr', timeout: 90 }) });
    assert.deepEqual(await plain.nft.grantSetInfo('web', 4), { perPort: false, timeoutMs: 90_000 });
    assert.deepEqual(plain.calls[0].args, ['-j', 'list', 'set', 'inet', 'sesame', 'web_open_4']);
    const perPort = fakeNft({ stdout: set({ name: 'spa_open_6', type: ['ipv6_addr', 'inet_proto', 'inet_service'] }) });
    assert.deepEqual(await perPort.nft.grantSetInfo('spa', 6), { perPort: true, timeoutMs: 0 });
    assert.equal(await fakeNft({ code: 1, stderr: ENOENT }).nft.grantSetInfo('web', 4), null);
  });

  test('a failure that is not "absent" throws, and says whether nft ran at all', async () => {
    await assert.rejects(
      fakeNft({ code: 1, stderr: 'Operation not permitted' }).nft.grantSetInfo('web', 4),
      (e) => e instanceof FirewallError && e.ran && /Operation not permitted/.test(e.message),
    );
    const missing = new Nftables(async () => {
      throw Object.assign(new Error('spawn nft ENOENT'), { code: 'ENOENT' });
    });
    await assert.rejects(missing.listRuleset(), (e) => e instanceof FirewallError && !e.ran);
  });

  test('listRuleset: the whole ruleset as JSON text', async () => {
    const { nft, calls } = fakeNft({ stdout: '{"nftables":[]}' });
    assert.equal(await nft.listRuleset(), '{"nftables":[]}');
    assert.deepEqual(calls[0].args, ['-j', '-t', 'list', 'ruleset']);
    await assert.rejects(fakeNft({ code: 1, stderr: ENOENT }).nft.listRuleset(), FirewallError);
  });

  test('legacy iptables rules: the save output, empty when the tool is missing or fails', async () => {
    const files: string[] = [];
    const ok: Exec = async (file) => (files.push(file), { code: 0, stdout: '*filter\nCOMMIT\n', stderr: '' });
    assert.equal(await iptablesRules(4, 'legacy', ok), '*filter\nCOMMIT\n');
    assert.equal(await iptablesRules(6, 'legacy', ok), '*filter\nCOMMIT\n');
    assert.deepEqual(files, ['iptables-legacy-save', 'ip6tables-legacy-save']);
    assert.equal(await iptablesRules(4, 'legacy', async () => ({ code: 1, stdout: 'x', stderr: 'no' })), '');
    const missing: Exec = async () => {
      throw Object.assign(new Error('spawn ENOENT'), { code: 'ENOENT' });
    };
    assert.equal(await iptablesRules(4, 'legacy', missing), '');
  });
});
