// usr/share/doc/sesame/copyright in Debian's machine-readable format (DEP-5): sesame's own
// notice from LICENSE, then one paragraph per npm package the bundle or the package carries,
// its copyright line read from its own LICENSE file and its license named by its package.json.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const FORMAT = 'https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/';

// Debian ships these texts in /usr/share/common-licenses; the others are written out in full
const COMMON_LICENSES = { 'Apache-2.0': 'Apache-2.0' };

function licenseFile(dir) {
  return readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
}

/** "Copyright (c) 2011 TJ Holowaychuk <...>" from a license text, else the package's author. */
function copyrightLine(text, manifest) {
  for (const line of text.split('\n')) {
    const m = /^\s*Copyright\s+(?:\(c\)\s*|©\s*)?(.+)$/i.exec(line);
    if (m && !/\[yyyy\]|\bcopyright (owner|notice|license|statement)|^license\b/i.test(line)) return m[1].trim();
  }
  const author = manifest.author;
  const name = typeof author === 'string' ? author : author?.name;
  if (!name) throw new Error(`${manifest.name}: no copyright line in its license file and no author`);
  return name;
}

/** The license text after its copyright lines, indented as DEP-5 wants (" ." for blank lines). */
function licenseBody(text) {
  const lines = text.replace(/\r/g, '').split('\n');
  let i = 0;
  // skip the title and copyright lines: the paragraph carries those
  while (
    i < lines.length &&
    (/^\s*$|^\s*(copyright|the mit license|mit license|isc license)\b/i.test(lines[i]) || /^\(/.test(lines[i]))
  )
    i++;
  const body = lines.slice(i);
  while (body.length && !body.at(-1).trim()) body.pop();
  return body.map((l) => (l.trim() ? ` ${l.trimEnd()}` : ' .')).join('\n');
}

/**
 * The copyright file's text. `packages` are npm package folders (node_modules/NAME, bundled or
 * shipped) under `root`; `license` is the project's LICENSE text; `pkg` its package.json.
 */
export function copyrightText({ root, pkg, license, packages }) {
  const paragraphs = [
    [
      `Format: ${FORMAT}`,
      `Upstream-Name: ${pkg.name}`,
      `Upstream-Contact: ${pkg.author}`,
      `Comment: The JavaScript in /usr/lib/sesame/lib is one esbuild bundle of sesame and the npm`,
      ` packages listed below; /usr/lib/sesame/node_modules holds netlink (with its prebuilt`,
      ` addon) and node-gyp-build as published on npm.`,
    ].join('\n'),
    [`Files: *`, `Copyright: ${copyrightLine(license, pkg)}`, `License: ${pkg.license}`].join('\n'),
  ];
  const texts = new Map([[pkg.license, licenseBody(license)]]);
  for (const folder of [...packages].sort()) {
    const dir = join(root, folder);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const file = licenseFile(dir);
    if (!file) throw new Error(`${folder}: no license file`);
    const text = readFileSync(join(dir, file), 'utf8');
    const id = manifest.license;
    if (typeof id !== 'string' || /\s/.test(id))
      throw new Error(`${folder}: license ${JSON.stringify(id)} is not one SPDX id`);
    paragraphs.push([`Files: ${folder}/*`, `Copyright: ${copyrightLine(text, manifest)}`, `License: ${id}`].join('\n'));
    if (!texts.has(id) && !COMMON_LICENSES[id]) texts.set(id, licenseBody(text));
  }
  for (const [id, body] of [...texts].sort(([a], [b]) => (a < b ? -1 : 1))) paragraphs.push(`License: ${id}\n${body}`);
  for (const [id, file] of Object.entries(COMMON_LICENSES)) {
    if (paragraphs.some((p) => p.includes(`\nLicense: ${id}`)))
      paragraphs.push(
        `License: ${id}\n On Debian systems, the full text of the ${id} license is in\n /usr/share/common-licenses/${file}.`,
      );
  }
  return `${paragraphs.join('\n\n')}\n`;
}
