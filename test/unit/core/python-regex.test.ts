import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expandConditionals } from '../../../src/core/fail2ban/python-conditionals.js';
import { compilePythonRegex } from '../../../src/core/fail2ban/python-regex.js';

const re = (p: string, multiline = false) => {
  const r = compilePythonRegex(p, { multiline });
  if (typeof r === 'string') throw new Error(r);
  return r;
};
const refused = (p: string) => {
  const r = compilePythonRegex(p);
  assert.equal(typeof r, 'string', `${p} should be refused`);
  return r as string;
};

describe('Python regex to JavaScript: exact or refused with the construct named', () => {
  test('(?P<n>...) and (?P=n) become named groups and backreferences', () => {
    const r = re('(?P<q>["\'])x(?P=q)');
    assert.equal(r.exec('"x"')?.groups?.q, '"');
    assert.equal(r.test('"x\''), false);
  });

  test('\\d{,3} is {0,3}; a { that is no quantifier is a literal', () => {
    assert.ok(re('^a\\d{,3}$').test('a12'));
    assert.equal(re('^a\\d{,3}$').test('a1234'), false);
    assert.ok(re('^a{x}$').test('a{x}'));
  });

  test('[^]]+ and []] read ] first in a set as a literal', () => {
    assert.equal(re('\\[([^]]+)\\]').exec('[abc]')?.[1], 'abc');
    assert.ok(re('^[]a]+$').test(']a]'));
  });

  test('(?i) at the start is global; in the middle it is refused as Python 3.11 does; (?i:...) is local', () => {
    assert.ok(re('(?i)^abc$').test('ABC'));
    assert.match(refused('^a(?i)bc'), /global flag \(\?i\) not at the start/);
    const local = re('^a(?i:bc)$');
    assert.ok(local.test('aBC'));
    assert.equal(local.test('ABC'), false);
  });

  test('\\Z is the very end (not before a final newline); $ also matches before a final newline', () => {
    assert.equal(re('a\\Z').test('a\n'), false);
    assert.ok(re('a$').test('a\n'));
    assert.equal(re('a$').test('a\nb'), false);
    assert.ok(re('a$', true).test('a\nb'), 'with re.MULTILINE $ ends every line');
  });

  test('. excludes only \\n (JavaScript also excludes \\r); (?s) makes it match \\n', () => {
    assert.ok(re('^a.b$').test('a\rb'));
    assert.equal(re('^a.b$').test('a\nb'), false);
    assert.ok(re('(?s)^a.b$').test('a\nb'));
  });

  test('\\d, \\w and \\s are Unicode-aware as in Python 3 str patterns', () => {
    assert.ok(re('^\\d$').test('٣'));
    assert.ok(re('^\\w+$').test('Zürich'));
    assert.ok(re('^\\s$').test('\x1c'), 'Python counts \\x1c as whitespace');
    assert.equal(re('^\\s$').test('\ufeff'), false, 'Python does not count U+FEFF');
  });

  test('[\\S.] (a negated escape with other members) is an alternation', () => {
    assert.ok(re('^[\\S.]+$').test('a.b'));
    assert.equal(re('^[^\\S.]$').test('.'), false);
    assert.ok(re('^[^\\S.]$').test(' '));
  });

  test('conditionals on an optional group or an alternation branch are expanded; others refused', () => {
    const r = re('^(?P<v>x)?(?(v)a|b)$');
    assert.ok(r.test('xa') && r.test('b'));
    assert.equal(r.test('xb') || r.test('a'), false);
    const alt = re('^(?:(?P<c>\\d+)|[a-z]+) (?(c)num|word)$');
    assert.ok(alt.test('12 num') && alt.test('ab word'));
    assert.equal(alt.test('12 word') || alt.test('ab num'), false);
    assert.match(refused('^(a)(?(1)b|c)'), /numbered groups/);
    assert.match(expandConditionals('(?P<v>x)?(?(v)a|b)'), /^\(\?:\(\?P<v>x\)\(\?:a\)\|\(\?:b\)\)$/);
  });

  test('possessive quantifiers, atomic groups, \\N{...} and bad escapes are refused by name', () => {
    assert.match(refused('a++'), /possessive/);
    assert.match(refused('(?>a)'), /atomic/);
    assert.match(refused('\\N{DIGIT ONE}'), /\\N\{\.\.\.\}/);
    assert.match(refused('\\q'), /bad escape \\q/);
    assert.match(refused('(?L)a'), /\(\?L\)/);
  });
});
