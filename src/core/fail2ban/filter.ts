import { type DateTemplate, dateTemplates, findDate } from './date-detector.js';
import { Fail2banRegex, type RegexMatch, type UseDns } from './regex.js';
import { SesameError } from '../sesame-error.js';

/**
 * fail2ban's line processing (server/filter.py processLine/findFailure): the date is cut out,
 * `prefregex` must match and its `<F-CONTENT>` becomes what the failregexes see, the first
 * failregex that matches (and no ignoreregex) gives the failure id (`<HOST>`, `<F-ID>`), and
 * `<F-MLFID>` joins lines of one connection (with `<F-NOFAIL>`, `<F-MLFFORGET>`,
 * `<F-MLFGAINED>`). `maxlines` > 1 keeps a buffer of lines for multi-line regexes. Stateful per
 * log (the buffer and the connection cache), pure otherwise: time is passed in.
 */

export interface FilterDefinition {
  readonly failregex: readonly string[];
  readonly ignoreregex: readonly string[];
  readonly prefregex?: string;
  readonly datepattern?: string;
  readonly maxlines?: number;
  readonly usedns?: UseDns;
}

/** [text before the date, the date, text after it]. */
type TupleLine = readonly [string, string, string];

export interface Failure {
  /** Index of the failregex that matched. */
  readonly regex: number;
  /** The failure id as fail2ban reports it raw: the address (or host name, or F-ID). */
  readonly id: string;
  /** The `<HOST>` (address or host name), if the regex has one. */
  readonly host?: string;
  /** The `<ADDR>`/`<IP4>`/`<IP6>` part, if the failure has one: what sesame can grant. */
  readonly address?: string;
  readonly groups: Readonly<Record<string, unknown>>;
}

export class FilterCompileError extends SesameError {
  static override readonly code = 'E_FILTER_REGEX';
  constructor(
    readonly key: 'failregex' | 'ignoreregex' | 'prefregex' | 'datepattern',
    readonly regexSource: string,
    reason: string,
  ) {
    super(`${key} ${JSON.stringify(regexSource)}: ${reason}`);
    this.name = 'FilterCompileError';
  }
}

type Fail = Record<string, unknown>;

const buffered = (lines: readonly TupleLine[]) => `${lines.map((l) => l[0] + l[2]).join('\n')}\n`;

/** The lines a match covers and the rest (fail2ban's matched/unmatched tuple lines). */
function splitLines(m: RegexMatch, orgLines: readonly TupleLine[]): { matched: TupleLine[]; unmatched: TupleLine[] } {
  if (orgLines.length <= 1) return { matched: [...orgLines], unmatched: [] };
  const s = m.buf;
  const lineStart = s.lastIndexOf('\n', m.index) + 1;
  let lineEnd = s.indexOf('\n', Math.max(0, m.end - 1));
  lineEnd = lineEnd < 0 ? s.length : lineEnd + 1;
  const count = (to: number) => s.slice(0, to).split('\n').length - 1;
  const c1 = count(lineStart);
  const c2 = count(lineEnd);
  const matched = orgLines.slice(c1, c2);
  const unmatched = orgLines.slice(0, c1);
  let n = 0;
  for (const skipped of m.skipped.split('\n').filter((l, i, a) => i < a.length - 1 || l !== '')) {
    for (let k = n; k < matched.length; k++) {
      if (matched[k][0] + matched[k][2] === skipped) {
        unmatched.push(...matched.splice(k, 1));
        n = k;
        break;
      }
    }
  }
  unmatched.push(...orgLines.slice(c2));
  return { matched, unmatched };
}

function compile(key: FilterCompileError['key'], source: string, opts: ConstructorParameters<typeof Fail2banRegex>[1]) {
  try {
    return new Fail2banRegex(source, opts);
  } catch (err) {
    throw new FilterCompileError(key, source, (err as Error).message);
  }
}

export class Fail2banFilter {
  private readonly fail: Fail2banRegex[];
  private readonly ignore: Fail2banRegex[];
  private readonly pref?: Fail2banRegex;
  private readonly dates: readonly DateTemplate[] | null;
  private readonly maxLines: number;
  private lineBuffer: TupleLine[] = [];
  private readonly mlfidCache = new Map<string, Fail>();

  /** Throws FilterCompileError naming the regex and the reason. */
  constructor(def: FilterDefinition) {
    this.maxLines = def.maxlines ?? 1;
    const opts = { multiline: this.maxLines > 1, useDns: def.usedns };
    this.pref = def.prefregex ? compile('prefregex', def.prefregex, { useDns: def.usedns }) : undefined;
    this.fail = def.failregex.map((r) => {
      const c = compile('failregex', r, opts);
      if (!c.hasFailureId && !this.pref?.hasFailureId)
        throw new FilterCompileError('failregex', r, 'no failure-id group (<HOST>, <ADDR>, <F-ID>...)');
      return c;
    });
    this.ignore = def.ignoreregex.map((r) => compile('ignoreregex', r, { useDns: def.usedns }));
    try {
      this.dates = dateTemplates(def.datepattern);
    } catch (err) {
      throw new FilterCompileError('datepattern', def.datepattern ?? '', (err as Error).message);
    }
  }

  /** The failures a log line reports (at most one, as fail2ban in operation). */
  processLine(line: string, opts: { dateKnown?: boolean } = {}): Failure[] {
    let tuple: TupleLine = ['', '', line];
    if (!opts.dateKnown && this.dates) {
      const span = findDate(line, this.dates);
      if (span) tuple = [line.slice(0, span[0]), line.slice(span[0], span[1]), line.slice(span[1])];
    }
    return this.findFailure(tuple);
  }

  private ignored(buf: string, failRegex?: RegexMatch, orgBuffer?: readonly TupleLine[]): boolean {
    let text = buf;
    if (failRegex && this.maxLines > 1 && orgBuffer) text = buffered(splitLines(failRegex, orgBuffer).matched);
    for (const r of this.ignore) {
      if (r.search(text)) {
        if (failRegex && orgBuffer) this.lineBuffer = splitLines(failRegex, orgBuffer).unmatched;
        return true;
      }
    }
    return false;
  }

  private findFailure(tuple: TupleLine): Failure[] {
    if (this.maxLines > 1) {
      this.lineBuffer.push(tuple);
      this.lineBuffer = this.lineBuffer.slice(-this.maxLines);
    } else this.lineBuffer = [tuple];
    const orgBuffer = this.lineBuffer;
    let buf: string | null = buffered(orgBuffer);

    if (this.ignore.length > 0 && this.ignore.length < this.fail.length - 2) {
      if (this.ignored(buf)) return [];
    }
    let preGroups: Fail = {};
    if (this.pref) {
      const m = this.pref.search(buf);
      if (!m) return [];
      preGroups = { ...m.groups };
      const repl = preGroups.content as string | undefined;
      delete preGroups.content;
      if (repl) {
        this.lineBuffer = [['', '', repl]];
        buf = null;
      }
    }
    for (const [index, failRegex] of this.fail.entries()) {
      if (buf === null) buf = buffered(this.lineBuffer);
      const m = failRegex.search(buf);
      if (!m) continue;
      let fail: Fail = { ...m.groups };
      if (this.ignore.length > 0 && this.ignored(buf, m, orgBuffer)) break;
      this.lineBuffer = splitLines(m, orgBuffer).unmatched;
      buf = null;
      if (Object.keys(preGroups).length > 0) fail = { ...preGroups, ...stripUndefined(fail) };
      const mlfid = fail.mlfid as string | undefined;
      if (mlfid !== undefined) {
        fail = this.mergeFailure(mlfid, fail);
        if (fail.nofail) return [];
      }
      const host = (fail.ip4 ?? fail.ip6 ?? fail.dns) as string | undefined;
      const id = (fail.fid ?? host) as string | undefined;
      if (id === undefined) {
        if (mlfid === undefined) continue; // fail2ban: "no group found", the next regex is tried
        fail.mlfpending = 1; // the connection's address comes in a later line
        return [];
      }
      const address = (fail.ip4 ?? fail.ip6) as string | undefined;
      return [{ regex: index, id: String(id), host, address, groups: fail }];
    }
    return [];
  }

  /** fail2ban's _mergeFailure: one connection's lines (same F-MLFID) make one failure. */
  private mergeFailure(mlfid: string, current: Fail): Fail {
    let fail = current;
    const cached = this.mlfidCache.get(mlfid);
    let users: Set<string> | undefined;
    let flags = 0;
    if (fail.mlfgained) {
      flags |= 8 | 1;
      if (!fail.nofail) fail.nofail = fail.mlfgained;
    } else if (fail.nofail) flags |= 1;
    if (fail.mlfforget) flags |= 2;
    delete fail.mlfforget;
    if (cached) {
      users = updateUsers(cached, fail.user as string | undefined);
      if (cached.nofail) flags |= 4;
      delete cached.nofail;
      if (cached.mlfgained) flags |= 4;
      delete cached.mlfgained;
      if (flags & 8) delete cached.mlfpending;
      for (const [k, v] of Object.entries(fail)) if (v !== undefined) cached[k] = v;
      fail = cached;
      if (flags & 2) this.mlfidCache.delete(mlfid);
    } else if (!(flags & 2)) {
      users = updateUsers(fail, fail.user as string | undefined);
      if (this.mlfidCache.size >= 100) this.mlfidCache.delete(this.mlfidCache.keys().next().value as string);
      this.mlfidCache.set(mlfid, fail);
    }
    const pending = fail.mlfpending;
    delete fail.mlfpending;
    if (pending || (users && users.size > 1)) {
      delete fail.nofail;
      delete fail.mlfgained;
    }
    return fail;
  }
}

function stripUndefined(o: Fail): Fail {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function updateUsers(fail: Fail, user: string | undefined): Set<string> | undefined {
  let users = fail.users as Set<string> | undefined;
  if (user) {
    if (!users) {
      users = new Set();
      fail.users = users;
    }
    users.add(user);
  }
  return users;
}
