#!/usr/bin/env node
// Every relative link of every Markdown file git tracks resolves inside the
// repository, anchors included (GitHub's heading slugs). Exits non-zero with
// one line per broken link.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..');
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f !== '' && fs.existsSync(path.join(root, f)));

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to '-'. */
const slug = (heading) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');

const anchorsOf = (file) => new Set([...fs.readFileSync(file, 'utf8').matchAll(/^#+\s+(.*)$/gm)].map((m) => slug(m[1])));

const broken = [];
for (const f of files) {
  const file = path.join(root, f);
  const text = fs.readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    const link = m[1];
    if (/^[a-z]+:/i.test(link)) continue;
    const [target, anchor] = link.split('#');
    const resolved = target ? path.resolve(path.dirname(file), target) : file;
    if (!resolved.startsWith(root + path.sep) || !fs.existsSync(resolved)) broken.push(`${f}: ${link} (no such file in the repository)`);
    else if (anchor && resolved.endsWith('.md') && !anchorsOf(resolved).has(anchor)) broken.push(`${f}: ${link} (no such heading)`);
  }
}
if (broken.length > 0) {
  for (const b of broken) console.error(`check-links: ${b}`);
  process.exit(1);
}
console.log(`check-links: ${files.length} Markdown files, every relative link resolves inside the repository`);
