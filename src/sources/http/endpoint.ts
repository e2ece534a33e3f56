import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { HttpEndpoint } from '../../core/door.js';
import { TOTP_STEP_MS } from '../../core/totp.js';
import { clientAddress, trustedProxies } from './client-address.js';
import { parseKnock, type ReplyFormat, replyFormat } from './knock-request.js';
import { OIDC_CALLBACK_PATH } from '../../core/oidc-allow.js';
import { type FinishResult, type OidcSignIn, SIGN_IN_COOKIE } from './oidc-sign-in.js';
import { PAGE_STYLE_HASH, renderPage } from './page.js';
import { RateLimiter } from './rate-limit.js';
import type { Refusal, TokenVerifier } from './verifier.js';
import type { Clock, LogFn } from '../../core/contracts.js';
import type { RefusalEvent } from '../door-source.js';

/** What opening a door gave: shown to the client. */
export interface Opened {
  readonly door: string;
  readonly address: string;
  readonly until: number;
  readonly ports: readonly string[];
}

export interface EndpointOptions {
  readonly endpoint: HttpEndpoint;
  readonly verifier: TokenVerifier;
  /** Plain secret-path doors (`token: none`). */
  readonly pathDoors: readonly { readonly name: string; readonly path: string }[];
  /** True when every token door takes TOTP (the page then asks for digits). */
  readonly numericCodes: boolean;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** Doors that open by OIDC sign-in (`GET /oidc/DOOR`, then the provider's callback). */
  readonly oidc?: OidcSignIn;
  /** Opens `door` for `address`; `user` when a sign-in named one. */
  readonly open: (door: string, address: string, user?: string) => Promise<Opened>;
  readonly log: LogFn;
  /** Every refused request: the daemon counts it and logs it, bounded per kind. */
  readonly refused: (e: Omit<RefusalEvent, 'source'>) => void;
  readonly now?: Clock;
  /** Every refusal is answered no sooner than this after the request arrived. */
  readonly refusalFloorMs?: number;
}

const MAX_BODY = 4096;
const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': `default-src 'none'; style-src '${PAGE_STYLE_HASH}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
};

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The built-in knock endpoint (node:http or node:https, no framework):
 * - `GET /` the knock page; `POST /knock` (form: door, code) or `POST /knock/DOOR` (form or
 *   JSON `code`/`token`, or the token as the body) checks a one-time token and opens;
 * - `GET /<secret path>` opens a `token: none` door (replayable, for fail2ban-style setups);
 * - every refusal (wrong door, wrong code, replayed code, wrong path) gets the same answer
 *   after the same delay; knock attempts are rate-limited per client address.
 */
export class KnockEndpoint {
  private readonly server: Server;
  private readonly trusted;
  private readonly limiter: RateLimiter | null;
  private readonly paths: { name: string; hash: Buffer }[];
  private readonly now: Clock;

  constructor(private readonly opts: EndpointOptions) {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err) => {
        opts.log('error', 'http-failed', { reason: String(err?.message ?? err) });
        if (!res.headersSent) this.send(res, 500, 'text', 'server error\n');
        else res.destroy();
      });
    };
    const serverOpts = { maxHeaderSize: 8192, requestTimeout: 15_000, headersTimeout: 10_000, keepAliveTimeout: 5000 };
    this.server = opts.tls
      ? createHttpsServer({ ...serverOpts, cert: opts.tls.cert, key: opts.tls.key }, handler)
      : createHttpServer(serverOpts, handler);
    this.server.on('clientError', (_err, socket) => socket.destroy());
    this.trusted = trustedProxies(opts.endpoint.trustedProxies);
    const rl = opts.endpoint.rateLimit;
    this.limiter = rl ? new RateLimiter(rl.attempts, rl.perMs) : null;
    this.paths = opts.pathDoors.map((d) => ({ name: d.name, hash: digest(d.path) }));
    this.now = opts.now ?? Date.now;
  }

  listen(): Promise<AddressInfo> {
    const { host, port } = this.opts.endpoint.listen;
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port, ipv6Only: false }, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrived = performance.now();
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://endpoint').pathname;
    const format = replyFormat(req.headers.accept);
    const isGet = method === 'GET' || method === 'HEAD';

    if (isGet && path === '/') return this.page(res, 200);
    if (isGet && path === '/robots.txt') return this.send(res, 200, 'text', 'User-agent: *\nDisallow: /\n');
    if (isGet && path === '/favicon.ico') return this.send(res, 404, 'text', 'not found\n');
    const isKnock = method === 'POST' && /^\/knock(\/|$)/.test(path);
    if (!isKnock && !isGet) return this.send(res, 405, 'text', 'method not allowed\n', { allow: 'GET, HEAD, POST' });

    const address = clientAddress(req.socket.remoteAddress ?? '', req.headers, this.trusted);
    if (address === null) {
      this.opts.refused({
        event: 'http-bad-forwarded',
        reason: 'bad-forwarded',
        fields: { peer: req.socket.remoteAddress, path },
      });
      return this.send(res, 400, 'text', "the proxy's Forwarded/X-Forwarded-For header names no address\n");
    }
    if (this.limiter && !this.limiter.take(address, this.now())) {
      this.opts.refused({ event: 'http-rate-limited', reason: 'rate-limited', address, fields: { path } });
      return this.tooMany(
        res,
        format,
        `too many attempts from ${address}`,
        this.limiter.retryAfterS(address, this.now()),
      );
    }

    if (isKnock) {
      const body = await readBody(req);
      if (body === null) return this.send(res, 413, 'text', 'request too large\n', { connection: 'close' });
      const knock = parseKnock(path, req.headers['content-type'], body);
      if (!knock) return this.refuse(res, arrived, format, address, { why: 'malformed', door: undefined });
      const verdict = await this.opts.verifier.verify(knock.door, knock.token, this.now(), address);
      if (!verdict.ok && verdict.why === 'door-throttled') {
        // this network's (or the door's) budget of wrong codes for this 30 s step is used up
        this.opts.refused({ event: 'http-door-throttled', reason: 'door-throttled', address, door: knock.door });
        const wait = this.opts.verifier.budget.retryAfterS(this.now(), TOTP_STEP_MS);
        return this.tooMany(res, format, `too many wrong codes for this door`, wait);
      }
      if (!verdict.ok) return this.refuse(res, arrived, format, address, { why: verdict.why, door: knock.door });
      return this.opened(res, format, await this.opts.open(knock.door, address));
    }

    if (isGet && this.opts.oidc && path.startsWith('/oidc/')) return this.signIn(req, res, path, address);

    const door = this.secretPathDoor(path);
    if (!door) return this.refuse(res, arrived, format, address, { why: 'no-such-path', door: undefined }, 404);
    return this.opened(res, format, await this.opts.open(door, address));
  }

  /**
   * `GET /oidc/DOOR` sends the browser to the provider with a cookie that ties the callback to
   * it; `GET /oidc/callback` finishes the sign-in and opens for the address it came from.
   */
  private async signIn(req: IncomingMessage, res: ServerResponse, path: string, address: string): Promise<void> {
    const oidc = this.opts.oidc as OidcSignIn;
    if (path === OIDC_CALLBACK_PATH) {
      const query = new URL(req.url ?? '/', 'http://endpoint').searchParams;
      const done = await oidc.finish(query, readCookie(req.headers.cookie, SIGN_IN_COOKIE), address);
      if (!done.ok) return this.signInRefused(res, address, done);
      this.opts.log('info', 'oidc-signed-in', { door: done.door, user: done.user, address });
      const o = await this.opts.open(done.door, address, done.user);
      return this.page(
        res,
        200,
        { ok: true, text: `${o.door} open for ${o.address} until ${clock(o.until)} (signed in as ${done.user})` },
        undefined,
        {
          'set-cookie': `${SIGN_IN_COOKIE}=; Path=${OIDC_CALLBACK_PATH}; Max-Age=0; Secure; HttpOnly; SameSite=Lax`,
        },
      );
    }
    const door = decodeURIComponent(path.slice('/oidc/'.length));
    const started = await oidc.start(door, address);
    if (!started.ok) {
      this.opts.refused({
        event: 'http-refused',
        reason: started.why,
        address,
        ...(started.why === 'no-such-door' ? {} : { door }),
      });
      if (started.why === 'no-such-door')
        return this.page(res, 404, { ok: false, text: 'No such door signs in here.' });
      this.opts.log('warn', 'oidc-provider-unreachable', { door, detail: started.detail });
      return this.page(res, 502, {
        ok: false,
        text: 'The sign-in provider cannot be reached; nothing was opened. Try again later.',
      });
    }
    this.send(res, 302, 'text', 'to the sign-in provider\n', {
      location: started.location,
      'set-cookie': `${SIGN_IN_COOKIE}=${started.cookie}; Path=${OIDC_CALLBACK_PATH}; Max-Age=600; Secure; HttpOnly; SameSite=Lax`,
    });
  }

  private signInRefused(res: ServerResponse, address: string, r: Extract<FinishResult, { ok: false }>): void {
    this.opts.refused({
      event: 'http-refused',
      reason: `oidc-${r.why}`,
      address,
      ...(r.door !== undefined ? { door: r.door } : {}),
      ...(r.user !== undefined || r.detail !== undefined ? { fields: { user: r.user, detail: r.detail } } : {}),
    });
    const text: Record<typeof r.why, string> = {
      'unknown-state': 'This sign-in link was already used or has run out; start again from the page.',
      'wrong-browser': 'This sign-in was started in another browser; start again from the page.',
      'address-changed': 'Your address changed during the sign-in; start again from the page.',
      'provider-error': 'The sign-in provider refused the sign-in; nothing was opened.',
      'provider-unreachable': 'The sign-in provider cannot be reached; nothing was opened. Try again later.',
      'token-refused': 'The sign-in could not be checked; nothing was opened.',
      'not-allowed': `Signed in${r.user ? ` as ${r.user}` : ''}, but that account may not open this door.`,
      'email-unverified': 'Your email address is not verified at the provider; nothing was opened.',
      'no-subject': 'The provider named no account; nothing was opened.',
    };
    this.page(res, r.why === 'provider-unreachable' ? 502 : 403, { ok: false, text: text[r.why] });
  }

  private tooMany(res: ServerResponse, format: ReplyFormat, what: string, wait: number): void {
    const text = `${what}; try again in ${wait} s`;
    if (format === 'html') return this.page(res, 429, { ok: false, text });
    const body = format === 'json' ? { error: 'rate-limited', retryAfter: wait } : `${text}\n`;
    this.send(res, 429, format, body, { 'retry-after': String(wait) });
  }

  /** Compares against every secret path in constant time, so timing doesn't leak a prefix. */
  private secretPathDoor(path: string): string | undefined {
    const h = digest(path);
    let found: string | undefined;
    for (const p of this.paths) if (timingSafeEqual(h, p.hash) && !found) found = p.name;
    return found;
  }

  private async refuse(
    res: ServerResponse,
    arrived: number,
    format: ReplyFormat,
    address: string,
    what: { why: Refusal | 'malformed' | 'no-such-path'; door: string | undefined },
    status = 403,
  ): Promise<void> {
    this.opts.refused({
      event: 'http-refused',
      ...(what.door !== undefined ? { door: what.door } : {}),
      reason: what.why,
      address,
    });
    const wait = arrived + (this.opts.refusalFloorMs ?? 50) - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const text = status === 404 ? 'not found' : 'not opened: wrong door or code, or the code was already used';
    if (format === 'html')
      return this.page(res, status, {
        ok: false,
        text: `Not opened: the door or code is wrong, or the code was already used.`,
      });
    return this.send(
      res,
      status,
      format,
      format === 'json' ? { error: status === 404 ? 'not-found' : 'refused' } : `${text}\n`,
    );
  }

  private opened(res: ServerResponse, format: ReplyFormat, o: Opened): void {
    const text = `${o.door} open for ${o.address} until ${clock(o.until)}`;
    if (format === 'html') return this.page(res, 200, { ok: true, text }, o.door);
    const json = { door: o.door, address: o.address, until: new Date(o.until).toISOString(), ports: o.ports };
    this.send(res, 200, format, format === 'json' ? json : `${text}\n`);
  }

  private page(
    res: ServerResponse,
    status: number,
    result?: { ok: boolean; text: string },
    selected?: string,
    extra: Record<string, string> = {},
  ): void {
    const html = renderPage({
      doors: this.opts.verifier.doorNames,
      signInDoors: this.opts.oidc?.doorNames,
      selected,
      result,
      numeric: this.opts.numericCodes,
    });
    this.send(res, status, 'html', html, extra);
  }

  private send(
    res: ServerResponse,
    status: number,
    format: ReplyFormat,
    body: unknown,
    extra: Record<string, string> = {},
  ): void {
    const text = format === 'json' ? `${JSON.stringify(body)}\n` : String(body);
    const type = { html: 'text/html; charset=utf-8', json: 'application/json', text: 'text/plain; charset=utf-8' }[
      format
    ];
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'content-type': type,
      'content-length': Buffer.byteLength(text),
      ...extra,
    });
    res.end(text);
  }
}

/** `12:05:30` in the server's local time. */
function clock(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 8);
}

/** One cookie's value from a Cookie header. */
function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/** The request body as text, or null when it is larger than MAX_BODY. */
function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        req.removeAllListeners('data');
        req.resume(); // discard the rest; the 413 closes the connection
        resolve(null);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
