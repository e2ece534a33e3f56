// Kept whole: the translator is one recursive-descent pass whose cases share the flag state and class tables.
import { expandConditionals } from './python-conditionals.js';
import { PythonRegexError } from './python-regex-error.js';

/**
 * Python `re` syntax (as fail2ban compiles it, Python 3.11) translated to a JavaScript RegExp
 * with the same meaning, or refused with the construct named. Pure.
 *
 * Exact where the two engines differ: `.` excludes only `\n`; `$` also matches before a final
 * `\n`; `\d`, `\w`, `\s`, `\b` are Unicode-aware (Python str patterns); `{,n}` is `{0,n}`;
 * `]` first in a class is a literal; a `{` that is no quantifier is a literal; `(?i:...)`,
 * `(?s:...)`, `(?x)` and `(?m)` are carried out by the translation itself (the output never uses
 * the JavaScript `m`/`s` flags). Refused: conditionals `(?(1)a|b)`, possessive quantifiers and
 * atomic groups, global flags not at the start (Python 3.11 refuses them too), `(?L)`, `\N{...}`
 * and bad escapes Python refuses.
 */

export interface PythonRegexOptions {
  /** fail2ban compiles multi-line filters (maxlines > 1) with re.MULTILINE. */
  readonly multiline?: boolean;
}

export interface TranslatedRegex {
  readonly source: string;
  readonly flags: string;
  /** Names of the named groups, in order. */
  readonly groupNames: readonly string[];
}

interface Flags {
  i: boolean;
  s: boolean;
  m: boolean;
  x: boolean;
  a: boolean;
}

const WORD_MEMBERS = String.raw`\p{L}\p{N}_`;
const ASCII_WORD_MEMBERS = String.raw`A-Za-z0-9_`;
// Python's str.isspace(): whitespace of Unicode (and \x1c-\x1f, which JavaScript's \s lacks)
const SPACE_MEMBERS = String.raw`\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;
const ASCII_SPACE_MEMBERS = String.raw`\t-\r\x20`;
const SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));

/** Translates a Python regular expression; throws PythonRegexError naming what can't be. */
export function translatePythonRegex(pattern: string, options: PythonRegexOptions = {}): TranslatedRegex {
  return new Translator(expandConditionals(pattern), options.multiline ?? false).run();
}

/** Like translatePythonRegex, compiled; returns the error text instead of throwing. */
export function compilePythonRegex(pattern: string, options: PythonRegexOptions = {}): RegExp | string {
  try {
    const t = translatePythonRegex(pattern, options);
    return new RegExp(t.source, t.flags);
  } catch (err) {
    if (err instanceof PythonRegexError) return err.message;
    return `not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`;
  }
}

class Translator {
  private pos = 0;
  private readonly groupNames: string[] = [];
  private globalI = false;
  private groupCount = 0;

  constructor(
    private readonly p: string,
    private readonly multilineDefault: boolean,
  ) {}

  run(): TranslatedRegex {
    const flags: Flags = { i: false, s: false, m: this.multilineDefault, x: false, a: false };
    // global flags: only at the very start (Python 3.11 refuses them anywhere else)
    while (this.p.startsWith('(?', this.pos) && /^\(\?[aiLmsux]+\)/.test(this.p.slice(this.pos))) {
      const m = /^\(\?([aiLmsux]+)\)/.exec(this.p.slice(this.pos)) as RegExpExecArray;
      for (const f of m[1]) {
        if (f === 'L') this.fail('the flag (?L) (locale-dependent matching) has no JavaScript equivalent');
        if (f === 'u') continue;
        flags[f as keyof Flags] = true;
      }
      this.pos += m[0].length;
    }
    this.globalI = flags.i;
    const body = this.alternation(flags, 0);
    if (this.pos < this.p.length) this.fail(`unbalanced parenthesis at position ${this.pos}`);
    return { source: body, flags: `u${this.globalI ? 'i' : ''}`, groupNames: this.groupNames };
  }

  private fail(message: string): never {
    throw new PythonRegexError(message, this.pos);
  }

  /** Reads until `)` (depth > 0) or the end. */
  private alternation(flags: Flags, depth: number): string {
    let out = '';
    let lastAtomStart = -1; // index in `out` where the last quantifiable atom starts
    while (this.pos < this.p.length) {
      const c = this.p[this.pos];
      if (c === ')') {
        if (depth === 0) this.fail(`unbalanced parenthesis at position ${this.pos}`);
        return out;
      }
      if (flags.x && /\s/.test(c)) {
        this.pos++;
        continue;
      }
      if (flags.x && c === '#') {
        while (this.pos < this.p.length && this.p[this.pos] !== '\n') this.pos++;
        continue;
      }
      if (c === '|') {
        this.pos++;
        out += '|';
        lastAtomStart = -1;
        continue;
      }
      const quant = this.quantifier();
      if (quant !== null) {
        if (lastAtomStart < 0) this.fail(`nothing to repeat at position ${this.pos}`);
        out += quant;
        lastAtomStart = -1;
        continue;
      }
      const start = out.length;
      const atom = this.atom(flags, depth);
      if (atom === null) continue; // a comment or inline flag group
      out += atom.text;
      lastAtomStart = atom.quantifiable ? start : -1;
    }
    if (depth > 0) this.fail('missing ), unterminated subpattern');
    return out;
  }

  /** A quantifier at pos, translated, or null. */
  private quantifier(): string | null {
    const rest = this.p.slice(this.pos);
    let m = /^([*+?])/.exec(rest);
    let q: string;
    if (m) q = m[1];
    else {
      m = /^\{(\d*)(?:(,)(\d*))?\}/.exec(rest);
      if (!m || (m[1] === '' && m[2] === undefined)) return null; // `{` that is no quantifier: a literal
      if (m[1] === '' && m[3] === '' && m[2]) q = '*';
      else if (m[2] === undefined) q = `{${m[1]}}`;
      else q = `{${m[1] === '' ? '0' : m[1]},${m[3]}}`;
      if (m[1] !== '' && m[3] !== '' && m[2] && Number(m[1]) > Number(m[3]))
        this.fail(`min repeat greater than max repeat in ${m[0]}`);
    }
    this.pos += m[0].length;
    if (this.p[this.pos] === '?') {
      this.pos++;
      return `${q}?`;
    }
    if (this.p[this.pos] === '+')
      this.fail('possessive quantifiers (*+, ++, ?+, {m,n}+) have no JavaScript equivalent');
    return q;
  }

  private atom(flags: Flags, depth: number): { text: string; quantifiable: boolean } | null {
    const c = this.p[this.pos];
    if (c === '(') return this.group(flags, depth);
    if (c === '[') return { text: this.charClass(flags), quantifiable: true };
    if (c === '\\') return this.escape(flags);
    this.pos++;
    if (c === '.') return { text: flags.s ? String.raw`[\s\S]` : String.raw`[^\n]`, quantifiable: true };
    if (c === '^') return { text: flags.m ? String.raw`(?:^|(?<=\n))` : '^', quantifiable: false };
    if (c === '$') return { text: flags.m ? String.raw`(?=\n|$)` : String.raw`(?=\n?$)`, quantifiable: false };
    return { text: this.literal(c, flags), quantifiable: true };
  }

  private literal(c: string, flags: Flags): string {
    if (flags.i && !this.globalI) {
      const lo = c.toLowerCase();
      const up = c.toUpperCase();
      if (lo !== up && lo.length === 1 && up.length === 1) return `[${lo}${up}]`;
    }
    if (SYNTAX.has(c)) return `\\${c}`;
    return c;
  }

  private group(flags: Flags, depth: number): { text: string; quantifiable: boolean } | null {
    const rest = this.p.slice(this.pos);
    if (rest.startsWith('(?#')) {
      const end = this.p.indexOf(')', this.pos);
      if (end < 0) this.fail('missing ), unterminated comment');
      this.pos = end + 1;
      return null;
    }
    if (/^\(\?[aiLmsux]+\)/.test(rest)) {
      this.fail(
        `global flag ${/^\(\?[aiLmsux]+\)/.exec(rest)?.[0]} not at the start of the expression (Python 3.11 refuses it too; use a local group like (?i:...))`,
      );
    }
    if (rest.startsWith('(?(')) this.fail('conditional groups (?(name)yes|no) have no JavaScript equivalent here');
    if (rest.startsWith('(?>')) this.fail('atomic groups (?>...) have no JavaScript equivalent');
    if (rest.startsWith('(?P=')) {
      const m = /^\(\?P=(\w+)\)/.exec(rest);
      if (!m) this.fail('bad named backreference (?P=...)');
      if (!this.groupNames.includes(m[1])) this.fail(`unknown group name in (?P=${m[1]})`);
      this.pos += m[0].length;
      return { text: `\\k<${m[1]}>`, quantifiable: true };
    }
    let open: string;
    let inner = flags;
    let capture = false;
    const named = /^\(\?P?<([A-Za-z_]\w*)>/.exec(rest);
    const local = /^\(\?([aimsux]*)(?:-([imsx]+))?:/.exec(rest);
    if (named) {
      if (this.groupNames.includes(named[1])) this.fail(`redefinition of group name ${named[1]}`);
      this.groupNames.push(named[1]);
      this.groupCount++;
      capture = true;
      open = `(?<${named[1]}>`;
      this.pos += named[0].length;
    } else if (rest.startsWith('(?<=') || rest.startsWith('(?<!') || rest.startsWith('(?=') || rest.startsWith('(?!')) {
      const len = rest[2] === '<' ? 4 : 3;
      open = rest.slice(0, len);
      this.pos += len;
    } else if (local) {
      inner = { ...flags };
      for (const f of local[1]) {
        if (f === 'u') continue;
        inner[f as keyof Flags] = true;
      }
      for (const f of local[2] ?? '') {
        if (f === 'i' && this.globalI)
          this.fail('(?-i:...) inside a case-insensitive pattern has no JavaScript equivalent');
        inner[f as keyof Flags] = false;
      }
      open = '(?:';
      this.pos += local[0].length;
    } else if (rest.startsWith('(?')) {
      this.fail(`unknown extension ${rest.slice(0, 3)} in a Python regex`);
    } else {
      this.groupCount++;
      capture = true;
      open = '(';
      this.pos++;
    }
    const body = this.alternation(inner, depth + 1);
    this.pos++; // ')'
    const lookaround =
      open.startsWith('(?=') || open.startsWith('(?!') || open.startsWith('(?<=') || open.startsWith('(?<!');
    return { text: `${open}${body})`, quantifiable: !lookaround || capture };
  }

  private escape(flags: Flags): { text: string; quantifiable: boolean } {
    const c = this.p[this.pos + 1];
    if (c === undefined) this.fail('bad escape (end of pattern)');
    this.pos += 2;
    const word = flags.a ? ASCII_WORD_MEMBERS : WORD_MEMBERS;
    switch (c) {
      case 'd':
        return { text: flags.a ? '[0-9]' : String.raw`\p{Nd}`, quantifiable: true };
      case 'D':
        return { text: flags.a ? '[^0-9]' : String.raw`\P{Nd}`, quantifiable: true };
      case 'w':
        return { text: `[${word}]`, quantifiable: true };
      case 'W':
        return { text: `[^${word}]`, quantifiable: true };
      case 's':
        return { text: `[${flags.a ? ASCII_SPACE_MEMBERS : SPACE_MEMBERS}]`, quantifiable: true };
      case 'S':
        return { text: `[^${flags.a ? ASCII_SPACE_MEMBERS : SPACE_MEMBERS}]`, quantifiable: true };
      case 'b':
        return { text: `(?:(?<=[${word}])(?![${word}])|(?<![${word}])(?=[${word}]))`, quantifiable: false };
      case 'B':
        return { text: `(?:(?<=[${word}])(?=[${word}])|(?<![${word}])(?![${word}]))`, quantifiable: false };
      case 'A':
        return { text: '^', quantifiable: false };
      case 'Z':
        return { text: '$', quantifiable: false };
    }
    if (/[1-9]/.test(c)) {
      // a backreference (up to 2 digits), or an octal escape of 3 digits
      const m = /^[0-7]{2}/.exec(this.p.slice(this.pos));
      if (c <= '7' && m && /^[0-7]$/.test(c)) {
        this.pos += 2;
        return { text: this.codePoint(Number.parseInt(c + m[0], 8), flags), quantifiable: true };
      }
      let n = c;
      if (/\d/.test(this.p[this.pos] ?? '')) n += this.p[this.pos++];
      if (Number(n) > this.groupCount) this.fail(`invalid group reference \\${n}`);
      return { text: `\\${n}`, quantifiable: true };
    }
    const code = this.charEscape(c);
    return { text: this.codePoint(code, flags), quantifiable: true };
  }

  /** Escapes that stand for one character (shared with classes); pos is after `\c`. */
  private charEscape(c: string): number {
    const hex = (n: number) => {
      const h = this.p.slice(this.pos, this.pos + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) this.fail(`incomplete escape \\${c}${h}`);
      this.pos += n;
      return Number.parseInt(h, 16);
    };
    switch (c) {
      case 'a':
        return 7;
      case 'f':
        return 12;
      case 'n':
        return 10;
      case 'r':
        return 13;
      case 't':
        return 9;
      case 'v':
        return 11;
      case 'x':
        return hex(2);
      case 'u':
        return hex(4);
      case 'U':
        return hex(8);
      case '0': {
        const m = /^[0-7]{0,2}/.exec(this.p.slice(this.pos)) as RegExpExecArray;
        this.pos += m[0].length;
        return Number.parseInt(`0${m[0]}`, 8);
      }
      case 'N':
        this.fail('\\N{...} (characters by name) is not supported; write the character');
    }
    if (/[A-Za-z0-9]/.test(c)) this.fail(`bad escape \\${c} (Python refuses it too)`);
    return c.codePointAt(0) as number;
  }

  private codePoint(code: number, flags: Flags): string {
    const ch = String.fromCodePoint(code);
    if (/[A-Za-z0-9_ ]/.test(ch) || (code > 0x7f && code !== 0x2028 && code !== 0x2029)) return this.literal(ch, flags);
    return `\\u{${code.toString(16)}}`;
  }

  private charClass(flags: Flags): string {
    this.pos++; // '['
    let negate = false;
    if (this.p[this.pos] === '^') {
      negate = true;
      this.pos++;
    }
    const members: string[] = [];
    const negated: string[] = [];
    let first = true;
    const word = flags.a ? ASCII_WORD_MEMBERS : WORD_MEMBERS;
    const space = flags.a ? ASCII_SPACE_MEMBERS : SPACE_MEMBERS;
    const single = (): number | { set: string } | { negated: string } => {
      const c = this.p[this.pos];
      if (c === undefined) this.fail('unterminated character set');
      if (c !== '\\') {
        this.pos += c.length;
        return c.codePointAt(0) as number;
      }
      const e = this.p[this.pos + 1];
      if (e === undefined) this.fail('unterminated character set');
      this.pos += 2;
      switch (e) {
        case 'd':
          return { set: flags.a ? '0-9' : String.raw`\p{Nd}` };
        case 'w':
          return { set: word };
        case 's':
          return { set: space };
        case 'D':
          return { negated: flags.a ? '0-9' : String.raw`\p{Nd}` };
        case 'W':
          return { negated: word };
        case 'S':
          return { negated: space };
        case 'b':
          return 8;
      }
      if (/[1-7]/.test(e)) {
        const m = /^[0-7]{0,2}/.exec(this.p.slice(this.pos)) as RegExpExecArray;
        this.pos += m[0].length;
        return Number.parseInt(e + m[0], 8);
      }
      return this.charEscape(e);
    };
    const enc = (code: number) => `\\u{${code.toString(16)}}`;
    const addRange = (lo: number, hi: number) => {
      members.push(lo === hi ? enc(lo) : `${enc(lo)}-${enc(hi)}`);
      if (flags.i && !this.globalI) {
        // local (?i:...): add the other case of every letter in the range
        for (let code = lo; code <= hi && code - lo < 0x3000; code++) {
          const ch = String.fromCodePoint(code);
          for (const other of [ch.toLowerCase(), ch.toUpperCase()]) {
            if (other !== ch && [...other].length === 1) members.push(enc(other.codePointAt(0) as number));
          }
        }
      }
    };
    while (true) {
      const c = this.p[this.pos];
      if (c === undefined) this.fail('unterminated character set');
      if (c === ']' && !first) {
        this.pos++;
        break;
      }
      first = false;
      const lo = single();
      if (typeof lo !== 'number') {
        if ('set' in lo) members.push(lo.set);
        else negated.push(lo.negated);
        continue;
      }
      if (this.p[this.pos] === '-' && this.p[this.pos + 1] !== ']' && this.p[this.pos + 1] !== undefined) {
        this.pos++;
        const hi = single();
        if (typeof hi !== 'number') this.fail('bad character range in a set');
        if (hi < lo) this.fail(`bad character range ${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)}`);
        addRange(lo, hi);
      } else addRange(lo, lo);
    }
    if (negated.length > 0) {
      // [\S.] is "not a space, or a dot": written as an alternation, which JavaScript can say
      const parts = negated.map((n) => `[^${n}]`);
      if (members.length > 0) parts.push(`[${members.join('')}]`);
      if (!negate) return parts.length === 1 ? parts[0] : `(?:${parts.join('|')})`;
      return `(?:${parts.map((x) => `(?!${x})`).join('')}[\\s\\S])`;
    }
    if (members.length === 0) return negate ? String.raw`[\s\S]` : '[]';
    return `[${negate ? '^' : ''}${members.join('')}]`;
  }
}
