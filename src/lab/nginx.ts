import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Host, Lab } from './netns.js';
import { connectFrom } from './processes.js';

export interface LabNginx {
  readonly accessLog: string;
  readonly conf: string;
  readonly child: ChildProcess;
}

/**
 * A real nginx in `host` (port 80, v4 and v6) with its own nginx.conf, pid, temp folders and
 * logs under `dir/nginx`, logging every request to `accessLog` in nginx's default format.
 * Used by the web-knock e2e tests and bench, so a log door and fail2ban read the log nginx writes.
 */
export async function startNginx(lab: Lab, host: Host, dir: string): Promise<LabNginx> {
  const root = join(dir, 'nginx');
  mkdirSync(join(root, 'www'), { recursive: true });
  writeFileSync(join(root, 'www', 'index.html'), 'hello\n');
  const accessLog = join(root, 'access.log');
  const conf = join(root, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
user root;
pid ${root}/nginx.pid;
error_log ${root}/error.log;
events { worker_connections 64; }
http {
  access_log ${accessLog};
  client_body_temp_path ${root}/body;
  proxy_temp_path ${root}/proxy;
  fastcgi_temp_path ${root}/fastcgi;
  uwsgi_temp_path ${root}/uwsgi;
  scgi_temp_path ${root}/scgi;
  server {
    listen 80;
    listen [::]:80;
    root ${root}/www;
  }
}
`,
  );
  const child = lab.spawn(host, 'nginx', ['-p', root, '-c', conf, '-g', 'daemon off;']);
  const deadline = Date.now() + 10_000;
  while ((await connectFrom(lab, host, '127.0.0.1', 80, 500)).result !== 'open') {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not start listening on port 80 in ${host.ns}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { accessLog, conf, child };
}
