import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Host, Lab } from './netns.js';
import { connectFrom } from './processes.js';

/** What the site answers on `/`; a test that gets it reached nginx, not sshd. */
export const SITE_BODY = 'sesame-https-site';

/** nginx serving HTTPS with a throwaway self-signed certificate in a lab namespace. */
export interface HttpsSite {
  readonly dir: string;
  stop(): void;
}

/**
 * Starts nginx on `port` (v4 and v6) in `host` with its own nginx.conf, certificate and
 * temp paths in a temp folder; waits until it accepts connections from `client`.
 */
/**
 * Writes `cert.pem` and `key.pem` (P-256, self-signed, for `ip` as CN and subjectAltName) into
 * `dir` and returns their paths. For lab TLS servers only.
 */
export function selfSignedCert(dir: string, ip: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2'].concat([
      '-subj',
      `/CN=${ip}`,
      '-addext',
      `subjectAltName=IP:${ip}`,
      '-keyout',
      key,
      '-out',
      cert,
    ]),
    { stdio: 'ignore' },
  );
  return { cert, key };
}

export async function startHttpsSite(lab: Lab, host: Host, client: Host, port = 443): Promise<HttpsSite> {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-nginx-'));
  selfSignedCert(dir, '198.18.0.1');
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
master_process off;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen ${port} ssl;
    listen [::]:${port} ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    location / { default_type text/plain; return 200 "${SITE_BODY}\\n"; }
  }
}
`,
  );
  const child = lab.spawn(host, 'nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')]);
  const stop = () => {
    try {
      child.kill('SIGKILL');
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 5000;
  while ((await connectFrom(lab, client, host.v4, port, 500)).result !== 'open') {
    if (Date.now() > deadline || child.exitCode !== null) {
      stop();
      throw new Error(`nginx did not start on ${port}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { dir, stop };
}
