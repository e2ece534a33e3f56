import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The user documentation as the tests read it: README.md and docs/*.md, the `sesame` command
 * lines they show, their relative links and the anchors their headings make.
 */

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

export interface DocFile {
  /** Path from the repository root, e.g. `docs/web.md`. */
  path: string;
  text: string;
}

export function docFiles(): DocFile[] {
  const docs = readdirSync(`${repoRoot}docs`)
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs].map((path) => ({ path, text: readFileSync(`${repoRoot}${path}`, 'utf8') }));
}

export interface DocCommand {
  /** `docs/web.md:42`: where the command is written. */
  where: string;
  /** The words after `sesame`, as a shell would pass them. */
  argv: string[];
}

/** Fenced code blocks: their lines with 1-based line numbers, and the fence lines themselves. */
function fences(text: string): { code: { line: number; text: string }[]; fenceLines: Set<number> } {
  const code: { line: number; text: string }[] = [];
  const fenceLines = new Set<number>();
  let fence: string | null = null;
  text.split('\n').forEach((l, i) => {
    const marker = /^\s*(```+|~~~+)/.exec(l)?.[1];
    if (marker && (fence === null || marker.startsWith(fence))) {
      fence = fence === null ? marker : null;
      fenceLines.add(i + 1);
    } else if (fence !== null) code.push({ line: i + 1, text: l });
  });
  return { code, fenceLines };
}

export const codeLines = (text: string) => fences(text).code;

/** The text with fenced code blocks blanked out, line numbers kept. */
function withoutFencedCode(text: string): string {
  const { code, fenceLines } = fences(text);
  const inCode = new Set(code.map((l) => l.line));
  return text
    .split('\n')
    .map((l, i) => (inCode.has(i + 1) || fenceLines.has(i + 1) ? '' : l))
    .join('\n');
}

/** The text without code: fenced blocks and inline code blanked out, line numbers kept. */
export function proseOnly(text: string): string {
  return withoutFencedCode(text).replace(/`[^`]*`/g, (span) => span.replace(/[^\n]/g, ''));
}

/** Every `sesame ...` command in the file's code blocks (shell lines, and comments in any block). */
export function sesameCommands(file: DocFile): DocCommand[] {
  return codeLines(file.text).flatMap(({ line, text }) =>
    commandsInLine(text).map((argv) => ({ where: `${file.path}:${line}`, argv })),
  );
}

/**
 * `sesame ...` in inline code in the prose: `sesame grant ssh 203.0.113.7 --for 10m`. Synopses
 * (`[-c FILE]`, `nft|iptables-restore`, `...`) are left to the command table's own test.
 */
export function inlineSesameCommands(file: DocFile): DocCommand[] {
  const prose = withoutFencedCode(file.text);
  const result: DocCommand[] = [];
  for (const m of prose.matchAll(/`([^`]+)`/g)) {
    const span = m[1].replace(/\n/g, ' ');
    if (!/^([A-Za-z_][A-Za-z0-9_]*=\S* )*sesame /.test(span) || /[[\]|…]|\.\.\./.test(span)) continue;
    const line = prose.slice(0, m.index).split('\n').length;
    for (const argv of commandsInLine(span)) result.push({ where: `${file.path}:${line}`, argv });
  }
  return result;
}

interface Word {
  text: string;
  /** Any part of it was quoted or escaped: `"sesame"` is an argument, not the program. */
  quoted: boolean;
}
type Segment = Word[];

/** Words a shell would see before `sesame` when it is the program: `$ sesame`, `sudo sesame`, `ProxyCommand sesame`. */
const PREFIXES = new Set(['$', '#', 'sudo', 'exec', 'ProxyCommand']);

/**
 * The argv of each `sesame` run on one line: a bare word `sesame` as the first word of a simple
 * command (after `$`, `sudo`, `VAR=value`, `ProxyCommand`), of a pipeline stage, of `$(...)` or
 * a backquoted part, or in a comment after a word ending in `:` ("on every node: sesame token").
 * Redirections and what follows `#` are not arguments.
 */
export function commandsInLine(line: string): string[][] {
  const commands: string[][] = [];
  for (const segment of segments(line)) {
    segment.forEach((word, i) => {
      if (word.quoted || word.text !== 'sesame') return;
      const before = segment[i - 1];
      const starts =
        before === undefined ||
        PREFIXES.has(before.text) ||
        /^[A-Za-z_][A-Za-z0-9_]*=/.test(before.text) ||
        before.text.endsWith(':');
      if (starts) commands.push(segment.slice(i + 1).map((w) => w.text));
    });
  }
  return commands;
}

/**
 * Splits a line the way sh would into simple commands: quotes, backslashes, `|`, `&&`, `;`,
 * redirections, `$(...)` and backquotes (their content becomes segments of its own). A comment
 * becomes a segment too, its words read the same way, so `# sesame token --new-secret` counts.
 * An unclosed quote takes the rest of the line (a comment's apostrophe).
 */
function segments(line: string): Segment[] {
  const out: Segment[] = [];
  let pos = 0;

  function readSegments(until: string | null): void {
    let segment: Segment = [];
    let word: Word | null = null;
    let redirect = false;
    const endWord = () => {
      if (word) {
        if (!redirect) segment.push(word);
        redirect = false;
      }
      word = null;
    };
    const endSegment = () => {
      endWord();
      if (segment.length) out.push(segment);
      segment = [];
    };
    const append = (text: string, quoted: boolean) => {
      word ??= { text: '', quoted: false };
      word.text += text;
      word.quoted ||= quoted;
    };
    while (pos < line.length) {
      const c = line[pos];
      if (until !== null && c === until) {
        pos++;
        break;
      }
      if (c === ' ' || c === '\t') {
        endWord();
        pos++;
      } else if (c === '#' && word === null) {
        endSegment();
        pos++;
        readSegments(null); // a comment: its words are read as a line of their own
      } else if (c === "'") {
        const close = line.indexOf("'", pos + 1);
        const end = close < 0 ? line.length : close;
        append(line.slice(pos + 1, end), true);
        pos = end + 1;
      } else if (c === '"') {
        pos++;
        let text = '';
        while (pos < line.length && line[pos] !== '"') {
          if (line[pos] === '\\' && pos + 1 < line.length) {
            text += line[pos + 1];
            pos += 2;
          } else if (line.startsWith('$(', pos)) {
            pos += 2;
            readSegments(')');
            text += '$(...)';
          } else text += line[pos++];
        }
        pos++;
        append(text, true);
      } else if (c === '\\' && pos + 1 < line.length) {
        append(line[pos + 1], true);
        pos += 2;
      } else if (line.startsWith('$(', pos)) {
        pos += 2;
        readSegments(')');
        append('$(...)', true);
      } else if (c === '`') {
        pos++;
        readSegments('`');
        append('`...`', true);
      } else if (c === '|' || c === ';' || c === '&') {
        endSegment();
        pos += line[pos + 1] === c ? 2 : 1;
      } else if (c === '>' || c === '<') {
        // `2>` was read as a word: it is the redirection's file descriptor, not an argument
        if (word !== null && /^\d+$/.test((word as Word).text)) word = null;
        endWord();
        pos += line[pos + 1] === c || line[pos + 1] === '&' ? 2 : 1;
        redirect = true;
      } else if (c === '(' || c === ')') {
        endSegment();
        pos++;
      } else {
        append(c, false);
        pos++;
      }
    }
    endSegment();
  }

  readSegments(null);
  return out;
}

/** The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\- ]/gu, '')
    .replace(/ /g, '-');
}

/** Anchors of the file's headings (`## Shared-port knock (443)` → `shared-port-knock-443`). */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const m of withoutFencedCode(text).matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = headingAnchor(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

export interface DocLink {
  where: string;
  target: string;
}

/** Markdown links and images outside code: `[text](target)`, `![alt](target)`. */
export function links(file: DocFile): DocLink[] {
  return proseOnly(file.text)
    .split('\n')
    .flatMap((l, i) =>
      [...l.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => ({ where: `${file.path}:${i + 1}`, target: m[1] })),
    );
}
