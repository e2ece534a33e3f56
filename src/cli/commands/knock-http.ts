import { readFileSync } from 'node:fs';
import { httpKnock, tokenFor } from '../../client/http-knock.js';
import { totp } from '../../core/totp.js';
import { CliError } from '../cli-error.js';
import { doorSecret } from './token.js';

export interface HttpKnockCliOptions {
  config?: string;
  secretFile?: string;
  totp?: boolean;
  cacert?: string;
}

/** `sesame knock --http URL DOOR`: makes a one-time token and POSTs it to the endpoint. */
export async function httpKnockCommand(url: string, door: string, o: HttpKnockCliOptions): Promise<string> {
  const d = doorSecret(door, o);
  if (o.totp && !d.kinds.includes('totp')) throw new CliError('E_USAGE', `door "${door}" doesn't take TOTP codes`, 2);
  const token = o.totp ? totp(d.key, Date.now()) : tokenFor(d.name, d.kinds, d.key);
  let ca: Buffer | undefined;
  if (o.cacert) {
    try {
      ca = readFileSync(o.cacert);
    } catch (err) {
      throw new CliError(
        'E_USAGE',
        `--cacert ${o.cacert}: cannot read (${(err as NodeJS.ErrnoException).code ?? err})`,
        2,
      );
    }
  }
  let r: Awaited<ReturnType<typeof httpKnock>>;
  try {
    r = await httpKnock({ url, door: d.name, token, ca });
  } catch (err) {
    throw new CliError('E_HTTP', `knock on ${url} failed: ${(err as Error).message}`, 1);
  }
  if (r.status !== 200) throw new CliError('E_REFUSED', `${url} answered ${r.status}: ${r.text}`, 1);
  return `${r.text}\n`;
}
