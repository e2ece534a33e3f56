import { createHash } from 'node:crypto';

/**
 * The knock page at `GET /`: pick a door, type the code, press Open. A plain form POST, so
 * it works without JavaScript; no external assets; labelled fields, keyboard order, large
 * targets and a narrow layout for phones. The result comes back as the same page with a
 * status line (role=status, so screen readers announce it).
 */

export interface PageState {
  readonly doors: readonly string[];
  /** Doors that open by signing in at an identity provider: one link each. */
  readonly signInDoors?: readonly string[];
  readonly selected?: string;
  readonly result?: { readonly ok: boolean; readonly text: string };
  /** True when every door takes TOTP: phones then show a digit keypad. */
  readonly numeric: boolean;
}

const CSS = `
:root{color-scheme:light dark;--fg:#1b1b1b;--bg:#fafafa;--mute:#555;--line:#767676;--ok:#0a5d2a;--okbg:#dff3e4;--err:#8a1111;--errbg:#fbe3e3;--acc:#0b57d0}
@media (prefers-color-scheme:dark){:root{--fg:#eee;--bg:#151515;--mute:#b5b5b5;--line:#9a9a9a;--ok:#bff0cc;--okbg:#123d22;--err:#ffd0d0;--errbg:#4a1515;--acc:#8ab4f8}}
*{box-sizing:border-box}
body{margin:0;font:1.125rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:26rem;margin:0 auto;padding:2rem 1.25rem}
h1{font-size:1.5rem;margin:0 0 1.25rem}
label{display:block;font-weight:600;margin:1rem 0 .35rem}
select,input,button{font:inherit;width:100%;min-height:3rem;border-radius:.5rem}
select,input{padding:.5rem .75rem;border:2px solid var(--line);background:var(--bg);color:var(--fg)}
input{letter-spacing:.15em;font-variant-numeric:tabular-nums}
.hint{color:var(--mute);font-size:.95rem;margin:.35rem 0 0}
button{margin-top:1.5rem;border:0;background:var(--acc);color:#fff;font-weight:700;cursor:pointer}
@media (prefers-color-scheme:dark){button{color:#111}}
:focus-visible{outline:3px solid var(--acc);outline-offset:2px}
.status{padding:.75rem 1rem;border-radius:.5rem;margin:0 0 1rem;font-weight:600}
.ok{background:var(--okbg);color:var(--ok)}
.err{background:var(--errbg);color:var(--err)}
a.signin{display:block;margin-top:1rem;padding:.7rem 1rem;border:2px solid var(--acc);border-radius:.5rem;color:var(--acc);font-weight:700;text-align:center;text-decoration:none}
`.trim();

/** For the Content-Security-Policy: the one inline style the page may use. */
export const PAGE_STYLE_HASH = `sha256-${createHash('sha256').update(CSS).digest('base64')}`;

export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** Renders the page (pure). */
export function renderPage(state: PageState): string {
  const options = state.doors
    .map((d) => `<option value="${escapeHtml(d)}"${d === state.selected ? ' selected' : ''}>${escapeHtml(d)}</option>`)
    .join('');
  const status = state.result
    ? `<p id="result" class="status ${state.result.ok ? 'ok' : 'err'}" role="status">${escapeHtml(state.result.text)}</p>`
    : '<p id="result" role="status"></p>';
  const signIn = (state.signInDoors ?? [])
    .map((d) => `<a class="signin" href="/oidc/${encodeURIComponent(d)}">Sign in to open ${escapeHtml(d)}</a>`)
    .join('\n');
  const form =
    state.doors.length === 0
      ? signIn
        ? ''
        : '<p>No door on this server opens with a code.</p>'
      : `<form method="post" action="/knock">
<label for="door">Door</label>
<select id="door" name="door">${options}</select>
<label for="code">Code</label>
<input id="code" name="code" type="text" required autocomplete="one-time-code" ${state.numeric ? 'inputmode="numeric" pattern="[0-9 ]*" ' : ''}autocapitalize="off" spellcheck="false" aria-describedby="code-hint"${state.result ? '' : ' autofocus'}>
<p id="code-hint" class="hint">The ${state.numeric ? '6-digit code from your authenticator app' : 'code from your authenticator app, or a token from <code>sesame token</code>'}. Each code opens once.</p>
<button type="submit">Open</button>
</form>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>sesame</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>Open a door</h1>
${status}
${form}
${signIn}
</main>
</body>
</html>
`;
}
