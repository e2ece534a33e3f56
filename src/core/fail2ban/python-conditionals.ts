import { PythonRegexError } from './python-regex-error.js';

/*
 * Python's conditional groups `(?(name)yes|no)`, rewritten before translation into
 * alternations JavaScript has (see expandConditionals). Pure.
 */

interface GroupSpan {
  start: number;
  /** Index after the group's opening, e.g. after `(?P<name>`. */
  bodyStart: number;
  /** Index of the closing `)`. */
  end: number;
  parent: number;
  /** Top-level `|` positions inside the group. */
  bars: number[];
}

/** Groups of a Python pattern (escapes and [...] sets skipped); -1 is the whole pattern. */
function scanGroups(p: string): { groups: GroupSpan[]; topBars: number[] } {
  const groups: GroupSpan[] = [];
  const topBars: number[] = [];
  const stack: number[] = [];
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '[') {
      i++;
      if (p[i] === '^') i++;
      if (p[i] === ']') i++;
      while (i < p.length && p[i] !== ']') i += p[i] === '\\' ? 2 : 1;
      continue;
    }
    if (c === '(') {
      const head = /^\((?:\?P<\w+>|\?<\w+>|\?[:=!]|\?<[=!]|\?[aimsux-]*:|\?\(\w+\))?/.exec(
        p.slice(i),
      ) as RegExpExecArray;
      groups.push({ start: i, bodyStart: i + head[0].length, end: -1, parent: stack.at(-1) ?? -1, bars: [] });
      stack.push(groups.length - 1);
      i += head[0].length - 1;
      continue;
    }
    if (c === ')') {
      const g = stack.pop();
      if (g !== undefined) groups[g].end = i;
      continue;
    }
    if (c === '|') {
      const g = stack.at(-1);
      if (g === undefined) topBars.push(i);
      else groups[g].bars.push(i);
    }
  }
  return { groups, topBars };
}

/** Suffix of group names in the copies a conditional expansion makes (merged back on match). */
export const COPY_SUFFIX = /(?:__c\d+)+$/;

/** `rest` with every `(?(name)yes|no)` replaced by its yes (present) or no branch. */
function decide(rest: string, name: string, present: boolean): string {
  let out = rest;
  for (;;) {
    const { groups } = scanGroups(out);
    const g = groups.find((x) => out.startsWith(`(?(${name})`, x.start));
    if (!g) return out;
    if (g.bars.length > 1) throw new PythonRegexError('a conditional group with more than one | is not valid', g.start);
    const bar = g.bars[0];
    const branch = present ? out.slice(g.bodyStart, bar ?? g.end) : bar === undefined ? '' : out.slice(bar + 1, g.end);
    out = `${out.slice(0, g.start)}(?:${branch})${out.slice(g.end + 1)}`;
  }
}

const renameCopy = (text: string, j: number) =>
  text.replace(/\(\?P([<=])(\w+)([>)])/g, `(?P$1$2__c${j}$3`).replace(/\(\?\((\w+)\)/g, `(?(${'$'}1__c${j})`);

/**
 * `(?(name)yes|no)` has no JavaScript form. It is rewritten by deciding, at the point where
 * the group `name` is optional (`(?P<name>...)?`) or one branch of an alternation
 * (`(?P<user>(?P<name>\S+)|...)`), both ways: the present way followed by the rest of that
 * sequence with every `(?(name)...)` taken as `yes`, the absent way(s) with `no`. That is the
 * same language and the same captures (fail2ban's sshd uses both forms). Copies' named groups
 * get a `__cN` suffix, merged back by the caller. Other placements are refused.
 */
export function expandConditionals(pattern: string): string {
  let p = pattern;
  let copyNo = 0;
  for (let round = 0; round < 8; round++) {
    const { groups, topBars } = scanGroups(p);
    const ci = groups.findIndex((g) => p.startsWith('(?(', g.start));
    if (ci < 0) return p;
    const cond = groups[ci];
    const name = /^\(\?\((\w+)\)/.exec(p.slice(cond.start))?.[1] as string;
    const refuse = (why = 'here'): never => {
      throw new PythonRegexError(
        `conditional groups (?(${name})yes|no) have no JavaScript equivalent ${why}`,
        cond.start,
      );
    };
    if (/^\d+$/.test(name)) refuse('on numbered groups');
    const di = groups.findIndex((g) => p.startsWith(`(?P<${name}>`, g.start));
    if (di < 0 || groups[di].start > cond.start) refuse();
    // the decision point: the definition if optional, else the nearest ancestor alternation
    let d = di;
    for (;;) {
      const after = p.slice(groups[d].end + 1);
      if (/^\?/.test(after)) {
        if (/^\?\?/.test(after)) refuse();
        break;
      }
      if (/^[*+{]/.test(after)) refuse();
      const parent = groups[d].parent;
      if (parent < 0) refuse();
      if (groups[parent].bars.length > 0) {
        d = parent;
        break;
      }
      d = parent;
    }
    const node = groups[d];
    const optional = p[node.end + 1] === '?';
    const nodeEnd = node.end + 1 + (optional ? 1 : 0);
    const bars = node.parent < 0 ? topBars : groups[node.parent].bars;
    const seqEnd = Math.min(...bars.filter((b) => b > node.end), node.parent < 0 ? p.length : groups[node.parent].end);
    if (cond.start > seqEnd) refuse();
    const rest = p.slice(nodeEnd, seqEnd);
    let copies: string[];
    if (optional) {
      copies = [
        p.slice(node.start, node.end + 1) + decide(rest, name, true),
        renameCopy(decide(rest, name, false), ++copyNo),
      ];
    } else {
      const open = p.slice(node.start, node.bodyStart);
      const cuts = [node.bodyStart, ...node.bars.map((b) => b + 1)];
      const ends = [...node.bars, node.end];
      const def = groups[di].start;
      copies = cuts.map((from, j) => {
        const present = def >= from && def < ends[j];
        const text = `${open}${p.slice(from, ends[j])})${decide(rest, name, present)}`;
        return j === 0 ? text : renameCopy(text, ++copyNo);
      });
    }
    p = `${p.slice(0, node.start)}(?:${copies.join('|')})${p.slice(seqEnd)}`;
  }
  throw new PythonRegexError('too many conditional groups', 0);
}
