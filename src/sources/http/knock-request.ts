/**
 * Reads what a knock asks for from a request (pure): the door from `/knock/DOOR` or a `door`
 * field, the token from a `code` or `token` field (form or JSON) or the raw body (any other
 * content type, or a form body with no `name=`: what `curl --data-binary 123456 URL` sends).
 */

export interface KnockRequest {
  readonly door: string;
  readonly token: string;
}

/** How the client wants the answer: the page (a browser form), JSON, or one line of text. */
export type ReplyFormat = 'html' | 'json' | 'text';

export function replyFormat(accept: string | undefined): ReplyFormat {
  const a = accept ?? '';
  if (a.includes('text/html')) return 'html';
  if (a.includes('application/json')) return 'json';
  return 'text';
}

/** Null when the request doesn't say which door or which token. */
export function parseKnock(path: string, contentType: string | undefined, body: string): KnockRequest | null {
  const m = /^\/knock(?:\/([^/?#]*))?$/.exec(path);
  if (!m) return null;
  let fields: Record<string, unknown> = {};
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded' && !body.includes('=')) {
    // `curl --data-binary 123456 URL` sends the bare token with curl's default form type
    fields = { token: body };
  } else if (type === 'application/x-www-form-urlencoded') {
    fields = Object.fromEntries(new URLSearchParams(body));
  } else if (type === 'application/json') {
    try {
      const parsed: unknown = JSON.parse(body);
      if (parsed && typeof parsed === 'object') fields = parsed as Record<string, unknown>;
    } catch {
      return null;
    }
  } else {
    fields = { token: body };
  }
  let door = m[1] ?? fields.door;
  try {
    if (typeof door === 'string') door = decodeURIComponent(door);
  } catch {
    return null;
  }
  const token = fields.code ?? fields.token;
  if (typeof door !== 'string' || door === '' || typeof token !== 'string' || token.trim() === '') return null;
  return { door, token: token.trim() };
}
