/**
 * The pure parts of a log door on the systemd journal: which `journalctl` to run, and the line
 * an entry gives the door's filter (the I/O is in sources/logwatch/journal-follow.ts).
 */

/** A journal match as journalctl takes it: `FIELD=value`, or `+` between two groups (OR). */
const MATCH = /^[A-Z0-9_]+=[^\n]*$/;

/** Why a match can't be passed to journalctl, or null. */
export function journalMatchProblem(m: string): string | null {
  if (m === '+') return null;
  if (!MATCH.test(m))
    return `expected FIELD=value with an upper-case journal field (like _SYSTEMD_UNIT=ssh.service) or "+", got ${JSON.stringify(m)}`;
  return null;
}

/**
 * fail2ban's `journalmatch` (filter.d, e.g. `_SYSTEMD_UNIT=sshd.service + _COMM=sshd`) as
 * fail2ban reads it (filterreader.py, filtersystemd.py addJournalMatch): each line is one match
 * group list, its words split as a shell does (shlex: quotes and backslashes), and separate
 * lines are ORed, so a `+` stands between them here. `+` stays a word of its own.
 */
export function splitJournalMatch(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const words = shellWords(line);
    if (words.length === 0) continue;
    if (out.length > 0) out.push('+');
    out.push(...words);
  }
  return out;
}

/** Words of one line as Python's shlex.split reads them (POSIX mode, no comments). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      word = (word ?? '') + line.slice(i + 1, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end;
    } else if (c === '"') {
      let j = i + 1;
      let text = '';
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && (line[j + 1] === '"' || line[j + 1] === '\\')) j++;
        text += line[j];
      }
      word = (word ?? '') + text;
      i = j;
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else word = (word ?? '') + c;
  }
  if (word !== null) words.push(word);
  return words;
}

/** `unit: ssh.service` as a match; a bare name gets `.service`, as systemctl reads it. */
export function unitMatch(unit: string): string {
  return `_SYSTEMD_UNIT=${unit.includes('.') ? unit : `${unit}.service`}`;
}

/**
 * The journalctl arguments: after the saved cursor when there is one (a restart replays
 * nothing it already read), else from now on (`--lines=0`), as the file follower starts at the
 * end of the file. The matches come after `--`, so none can be taken for an option.
 */
export function journalctlArgs(matches: readonly string[], cursor: string | null, directory?: string): string[] {
  return [
    '--follow',
    '--output=json',
    '--no-pager',
    '--quiet',
    ...(directory ? [`--directory=${directory}`] : []),
    ...(cursor ? [`--after-cursor=${cursor}`] : ['--lines=0']),
    '--',
    ...matches,
  ];
}

/** What a journal entry gives the door: its cursor and the line for its filter. */
export interface JournalLine {
  readonly cursor: string;
  readonly line: string;
}

/** Longest line a door's filter sees, as for files (sources/logwatch/line-buffer.ts). */
export const MAX_JOURNAL_LINE = 64 * 1024;

/**
 * A field's text: journalctl's JSON gives a string, an array of bytes for a value that is not
 * valid UTF-8 or holds control characters, and null when it is too large to show. Bytes are
 * read as UTF-8 (bad sequences become U+FFFD); only the first `max` are decoded, so a huge
 * value costs no more than a capped one.
 */
function fieldText(v: unknown, max: number): string | null {
  if (typeof v === 'string') return v.length > max ? v.slice(0, max) : v;
  if (Array.isArray(v)) {
    const bytes = v.slice(0, max * 4);
    if (!bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return null;
    const text = new TextDecoder('utf-8').decode(Uint8Array.from(bytes as number[]));
    return text.length > max ? text.slice(0, max) : text;
  }
  return null;
}

/**
 * One line of `journalctl --output=json` as fail2ban's systemd backend formats an entry
 * (filtersystemd.py formatJournalEntry): `HOST IDENT[PID]: MESSAGE`, so filter.d regexes
 * written for syslog lines match, and a plain `match:` finds the message within. Line breaks
 * in a message become spaces: a forged "line" inside one entry can't start a line of its own.
 * Null for anything that is not an entry with a cursor and a message.
 */
export function parseJournalLine(json: string, max = MAX_JOURNAL_LINE): JournalLine | null {
  let entry: unknown;
  try {
    entry = JSON.parse(json);
  } catch {
    return null;
  }
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return null;
  const e = entry as Record<string, unknown>;
  const cursor = e.__CURSOR;
  if (typeof cursor !== 'string' || cursor === '' || /[\n\0]/.test(cursor)) return null;
  const message = fieldText(e.MESSAGE, max);
  if (message === null) return null;
  const parts: string[] = [];
  const host = fieldText(e._HOSTNAME, 255);
  if (host) parts.push(host);
  const ident = fieldText(e.SYSLOG_IDENTIFIER, 255) ?? fieldText(e._COMM, 255);
  if (ident) {
    const pid = fieldText(e.SYSLOG_PID, 20) ?? fieldText(e._PID, 20);
    parts.push(`${ident}${pid && /^\d+$/.test(pid) ? `[${pid}]` : ''}:`);
  }
  parts.push(message);
  const line = parts.join(' ').replace(/[\r\n]+/g, ' ');
  return { cursor, line: line.length > max ? line.slice(0, max) : line };
}

/**
 * journalctl's own timestamp at the start of a line it printed (`-o short`, `short-precise`,
 * `short-iso`, `short-iso-precise`, `short-full`, `short-unix`), or null. For a journal line the
 * journal's time is the date (fail2ban's systemd backend): this one is cut, and a date inside the
 * message is left for the filter, whose journal prefix expects it.
 */
const JOURNALCTL_TIME = new RegExp(
  [
    String.raw`[A-Z][a-z]{2} [ 0-3]\d \d\d:\d\d:\d\d(?:\.\d{6})?`,
    String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d{6})?(?:Z|[+-]\d\d:?\d\d)`,
    String.raw`[A-Z][a-z]{2} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z][A-Za-z0-9+-]*`,
    String.raw`\d{9,}\.\d{6}`,
  ]
    .map((t) => `^(?:${t}) `)
    .join('|'),
);

/** A line of journalctl output (or a journal JSON entry) as the journal door gives it its filter. */
export function journalOutputLine(line: string): string {
  if (line.startsWith('{')) {
    const entry = parseJournalLine(line);
    if (entry) return entry.line;
  }
  const m = JOURNALCTL_TIME.exec(line);
  return m ? line.slice(m[0].length) : line;
}
