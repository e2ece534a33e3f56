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
    const quantifier = p.slice(node.end + 1);
    // an alternation taken several times (or lazily) decides nothing once
    if (/^(?:[*+{]|\?\?)/.test(quantifier)) refuse();
    const optional = quantifier.startsWith('?');
    const nodeEnd = node.end + 1 + (optional ? 1 : 0);
    // the ways through the decision point: its text for that way, and whether `name` took part
    let ways: { text: string; present: boolean }[];
    if (d === di) {
      ways = [
        { text: p.slice(node.start, node.end + 1), present: true },
        { text: '', present: false },
      ];
    } else {
      const open = p.slice(node.start, node.bodyStart);
      const cuts = [node.bodyStart, ...node.bars.map((b) => b + 1)];
      const ends = [...node.bars, node.end];
      const def = groups[di].start;
      ways = cuts.map((from, j) => ({
        text: `${open}${p.slice(from, ends[j])})`,
        present: def >= from && def < ends[j],
      }));
      // an optional alternation may also be skipped, and then `name` took no part
      if (optional) ways.push({ text: '', present: false });
    }
    // the conditional may stand after groups around the decision point, as roundcube-auth's
    // `<F-USER>(?:(?P<simple>\S+)|.*)</F-USER> ... (?(simple)...)`: each way then carries its
    // own copy of those groups (taken once: no quantifier); their other branches set no `name`
    let top = node;
    let topEnd = nodeEnd;
    const seqEndOf = (g: GroupSpan) => {
      const bars = g.parent < 0 ? topBars : groups[g.parent].bars;
      return Math.min(...bars.filter((b) => b > g.end), g.parent < 0 ? p.length : groups[g.parent].end);
    };
    while (cond.start > seqEndOf(top)) {
      if (top.parent < 0) refuse();
      const up = groups[top.parent];
      if (/^[?*+{]/.test(p.slice(up.end + 1))) refuse();
      const open = p.slice(up.start, up.bodyStart);
      const cuts = [up.bodyStart, ...up.bars.map((b) => b + 1)];
      const ends = [...up.bars, up.end];
      const mine = cuts.findIndex((from, j) => top.start >= from && top.start < ends[j]);
      const [from, to] = [cuts[mine], ends[mine]];
      const around = (w: { text: string; present: boolean }) => ({
        text: `${open}${p.slice(from, top.start)}${w.text}${p.slice(topEnd, to)})`,
        present: w.present,
      });
      ways = [
        ...ways.map(around),
        ...cuts.flatMap((f, j) => (j === mine ? [] : [{ text: `${open}${p.slice(f, ends[j])})`, present: false }])),
      ];
      top = up;
      topEnd = up.end + 1;
    }
    const seqEnd = seqEndOf(top);
    if (cond.start < topEnd) refuse();
    const rest = p.slice(topEnd, seqEnd);
    const copies = ways.map((w, j) => {
      const text = w.text + decide(rest, name, w.present);
      return j === 0 ? text : renameCopy(text, ++copyNo);
    });
    p = `${p.slice(0, top.start)}(?:${copies.join('|')})${p.slice(seqEnd)}`;
  }
  throw new PythonRegexError('too many conditional groups', 0);
}
