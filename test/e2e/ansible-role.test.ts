import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectFrom } from '../../src/lab/processes.js';
import { type ContainerLab, containerSkip, startContainerLab } from './container-lab.js';
import { e2eSkip, eventually, tempDir } from './support.js';

/**
 * deploy/ansible's role, run by a real ansible-playbook from a lab client over ssh into the
 * Debian container booted by its own systemd (never the host): it installs the .deb, writes
 * the config from variables, starts sesame; a second run changes nothing; a config that
 * `sesame check` refuses is never installed and the running doors stay.
 */
const skip = containerSkip() || e2eSkip({ 'ansible-playbook': 'ansible-core', 'ssh-keygen': 'openssh-client' });
const repo = new URL('../../../', import.meta.url).pathname;
const DOOR = { knock: [7000, 8000, 9000], within: '10s', open: [8080], for: '5m' };

describe('the Ansible role (deploy/ansible) against a systemd container', { skip }, () => {
  let cl: ContainerLab;
  const work = tempDir('sesame-ansible-');
  const key = join(work, 'id_ed25519');
  before(
    async () => {
      cl = await startContainerLab({ name: 'sesame-ansible', clients: 2 });
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
      const pub = execFileSync('cat', [`${key}.pub`], { encoding: 'utf8' });
      await cl.sh('mkdir -p -m 700 /root/.ssh && cat > /root/.ssh/authorized_keys && systemctl start ssh', pub);
      // the door guards a stand-in service on 8080, so the role's own ssh (22) stays reachable
      await cl.sh('systemd-run --unit web python3 -m http.server 8080');
      writeFileSync(
        join(work, 'inventory'),
        `[sesame]\n${cl.lab.server.v4} ansible_user=root ansible_ssh_private_key_file=${key} ansible_python_interpreter=/usr/bin/python3\n`,
      );
    },
    { timeout: 900_000 },
  );
  after(async () => {
    await cl?.destroy();
    execFileSync('rm', ['-rf', work]);
  });

  /** ansible-playbook from the first lab client; its recap line for the host. */
  const play = async (vars: object) => {
    const file = join(work, 'vars.json');
    writeFileSync(file, JSON.stringify({ sesame_deb: join(cl.share, cl.deb), ...vars }));
    const r = await cl.lab.run(
      cl.lab.clients[0],
      'env',
      [
        'ANSIBLE_HOST_KEY_CHECKING=False',
        'ANSIBLE_NOCOLOR=1',
        `ANSIBLE_ROLES_PATH=${join(repo, 'deploy/ansible/roles')}`,
        'ansible-playbook',
        '-i',
        join(work, 'inventory'),
        '-e',
        `@${file}`,
        join(repo, 'deploy/ansible/site.yml'),
      ],
      { timeoutMs: 300_000 },
    );
    const recap = /\S+\s*:\s*ok=\d+\s+changed=(\d+).*failed=(\d+)/.exec(r.stdout);
    return {
      code: r.code,
      out: r.stdout + r.stderr,
      changed: Number(recap?.[1]),
      failed: Number(recap?.[2]),
      recap: recap?.[0],
    };
  };
  const web = async (client: number) =>
    (await connectFrom(cl.lab, cl.lab.clients[client], cl.lab.server.v4, 8080, 1500)).result;

  test('first run installs, configures and starts sesame: the door hides 8080 until a knock', async () => {
    assert.ok(await eventually(async () => (await web(1)) === 'open', 5000), 'before the role, the service answers');
    const r = await play({ sesame_config: { doors: { web: DOOR } } });
    assert.equal(r.code, 0, r.out);
    assert.ok(r.changed > 0, r.recap);
    assert.equal((await cl.sh('systemctl is-active sesame')).trim(), 'active');
    assert.equal((await cl.sh('systemctl is-enabled sesame')).trim(), 'enabled');
    assert.equal(await web(1), 'timeout', 'hidden once sesame runs');
    await cl.knock(1);
    assert.ok(await eventually(async () => (await web(1)) === 'open', 3000), 'the knock opens it');
    console.log(`first run: ${r.recap}`);
  });

  test('second run with the same variables changes nothing', async () => {
    const r = await play({ sesame_config: { doors: { web: DOOR } } });
    assert.equal(r.code, 0, r.out);
    assert.equal(r.changed, 0, r.recap);
    console.log(`second run: ${r.recap}`);
  });

  test('a config sesame check refuses is not installed; the old one keeps running', async () => {
    const before = await cl.sh('cat /etc/sesame/sesame.yaml');
    const r = await play({ sesame_config: { doors: { web: { ...DOOR, knock: [7000, 70000] } } } });
    assert.notEqual(r.code, 0, 'the play fails');
    assert.match(r.out, /port 70000 out of range/);
    assert.equal(await cl.sh('cat /etc/sesame/sesame.yaml'), before, 'the old config is still there');
    assert.equal((await cl.sh('systemctl is-active sesame')).trim(), 'active');
    assert.equal(await web(0), 'timeout', 'the old door still hides the port');
    await cl.knock(0);
    assert.ok(await eventually(async () => (await web(0)) === 'open', 3000), 'and still opens on its knock');
  });

  test('fleet settings from variables end up in the config check accepts', async () => {
    const r = await play({
      sesame_config: { doors: { web: DOOR } },
      sesame_files: [
        { path: '/etc/sesame/fleet.key', content: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n' },
        { path: '/etc/sesame/redis.pass', content: 'secret\n' },
      ],
      sesame_fleet: {
        redis: 'redis://198.18.0.1:6379',
        name: 'lab',
        node: 'c1',
        key: '/etc/sesame/fleet.key',
        password_file: '/etc/sesame/redis.pass',
      },
      sesame_enabled: false, // no Redis in this lab: the config is what is checked here
    });
    assert.equal(r.code, 0, r.out);
    const config = await cl.sh('cat /etc/sesame/sesame.yaml');
    assert.match(config, /^fleet:\n(\s+\S.*\n)*\s+key: \/etc\/sesame\/fleet\.key\n/m);
    assert.match(config, /^\s+name: lab$/m);
    assert.equal((await cl.sh('stat -c %a /etc/sesame/fleet.key')).trim(), '600', 'secret files 0600');
  });
});
