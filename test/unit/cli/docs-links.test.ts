import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, test } from 'node:test';
import { anchors, docFiles, headingAnchor, links, repoRoot } from './markdown-docs.js';

/**
 * The README sends a newcomer into docs/: every relative link in README.md and docs/*.md leads
 * to a file that exists, and a `#anchor` to a heading of that page; every page in docs/ is
 * reachable from the README, through the README's links and the pages'.
 */
const files = docFiles();

/** Problems with one link, written from `where`: a missing file or heading. */
function linkProblem(from: string, target: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return null; // https:, mailto:: not ours to check
  const [path, anchor] = target.split('#', 2);
  const file = path ? normalize(join(dirname(from), decodeURI(path))) : from;
  if (relative(repoRoot, join(repoRoot, file)).startsWith('..')) return `${target}: outside the repository`;
  if (!existsSync(join(repoRoot, file))) return `${target}: no such file ${file}`;
  if (anchor === undefined || !file.endsWith('.md') || statSync(join(repoRoot, file)).isDirectory()) return null;
  const known = anchors(readFileSync(join(repoRoot, file), 'utf8'));
  return known.has(anchor) ? null : `${target}: no heading #${anchor} in ${file} (has: ${[...known].join(', ')})`;
}

describe('links in README.md and docs/*.md', () => {
  test('anchors are made as GitHub makes them, and a broken link is reported', () => {
    assert.equal(headingAnchor('Shared-port knock (443)'), 'shared-port-knock-443');
    assert.equal(headingAnchor('Daemonless rulesets (`sesame compile`)'), 'daemonless-rulesets-sesame-compile');
    assert.equal(headingAnchor('SPA: sesame vs fwknopd 2.6.10'), 'spa-sesame-vs-fwknopd-2610');
    assert.equal(headingAnchor('Knock → connected, every tool in one plot'), 'knock--connected-every-tool-in-one-plot');
    assert.deepEqual([...anchors('# A\n```\n# not a heading\n```\n## A\n')], ['a', 'a-1']);
    assert.equal(linkProblem('README.md', 'docs/web.md#the-built-in-endpoint-http-one-time-codes'), null);
    assert.match(linkProblem('README.md', 'docs/nope.md') ?? '', /no such file docs\/nope\.md/);
    assert.match(linkProblem('README.md', 'docs/web.md#nope') ?? '', /no heading #nope in docs\/web\.md/);
    assert.match(linkProblem('docs/web.md', 'web.md#nope') ?? '', /no heading #nope in docs\/web\.md/);
    assert.equal(linkProblem('docs/performance.md', '../bench/results/latency.svg'), null);
  });

  test('every relative link points at an existing file and heading', () => {
    const all = files.flatMap(links);
    assert.ok(all.length >= 30, `only ${all.length} links found`);
    const problems = all.flatMap(({ where, target }) => {
      const problem = linkProblem(where.split(':')[0], target);
      return problem ? [`${where}: ${problem}`] : [];
    });
    assert.deepEqual(problems, [], `broken links:\n${problems.join('\n')}`);
  });

  test('every page in docs/ is reachable from the README', () => {
    const byPath = new Map(files.map((f) => [f.path, f]));
    const reached = new Set(['README.md']);
    const queue = ['README.md'];
    while (queue.length) {
      const from = queue.shift()!;
      for (const { target } of links(byPath.get(from)!)) {
        const path = target.split('#')[0];
        if (!path || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
        const page = normalize(join(dirname(from), decodeURI(path)));
        if (!byPath.has(page) || reached.has(page)) continue;
        reached.add(page);
        queue.push(page);
      }
    }
    assert.ok(reached.has('docs/threats.md'), `reached: ${[...reached]}`);
    const unreached = files.filter((f) => !reached.has(f.path)).map((f) => f.path);
    assert.deepEqual(unreached, [], `docs pages no link from the README leads to: ${unreached.join(', ')}`);
  });
});
