import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TokenKind } from '../core/door.js';
import { makeHmacToken } from '../core/knock-token.js';
import { totp } from '../core/totp.js';

/** A fresh token for `door`: an HMAC token when the door takes them (never replayable), else the TOTP code. */
export function tokenFor(door: string, kinds: readonly TokenKind[], key: Uint8Array, nowMs = Date.now()): string {
  return kinds.includes('hmac') ? makeHmacToken(key, door, nowMs) : totp(key, nowMs);
}

export interface HttpKnockOptions {
  /** Base URL of the endpoint, e.g. `https://server:8443`. */
  readonly url: string;
  readonly door: string;
  readonly token: string;
  /** CA certificate (PEM) that signed the endpoint's certificate (a self-signed one). */
  readonly ca?: Buffer;
  readonly timeoutMs?: number;
  /** Bind to this local address (lab clients with several addresses). */
  readonly localAddress?: string;
}

export interface HttpKnockResult {
  readonly status: number;
  /** The endpoint's answer, e.g. `ssh open for 198.18.0.2 until 12:05:30`. */
  readonly text: string;
  readonly ms: number;
}

/** POSTs the token to `URL/knock/DOOR` and returns the answer; throws only on network errors. */
export function httpKnock(opts: HttpKnockOptions): Promise<HttpKnockResult> {
  const started = performance.now();
  const base = new URL(opts.url);
  const target = new URL(`${base.pathname.replace(/\/$/, '')}/knock/${encodeURIComponent(opts.door)}`, base);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    return Promise.reject(new Error(`expected an http:// or https:// URL, got ${opts.url}`));
  }
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'POST',
        headers: {
          'content-type': 'text/plain',
          accept: 'text/plain',
          'content-length': Buffer.byteLength(opts.token),
        },
        ca: opts.ca,
        localAddress: opts.localAddress,
        timeout: opts.timeoutMs ?? 10_000,
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: text.trim(), ms: performance.now() - started }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`no answer from ${target.origin} within ${opts.timeoutMs ?? 10_000} ms`)),
    );
    req.on('error', reject);
    req.end(opts.token);
  });
}
