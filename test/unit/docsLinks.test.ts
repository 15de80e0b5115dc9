// The README is a short overview that links the reference pages in docs/: a page moved or a
// heading renamed must not leave a link pointing nowhere. Every relative link and image in
// README.md and docs/*.md must name a file of the repository, and its #anchor a heading of that
// page (anchors as GitHub makes them from headings).
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..');
const DOCS = path.join(REPO, 'docs');

/** README.md and every docs/*.md page. */
function pages(): string[] {
  const docs = fs.existsSync(DOCS) ? fs.readdirSync(DOCS).filter((name) => name.endsWith('.md')).map((name) => path.join(DOCS, name)) : [];
  return [path.join(REPO, 'README.md'), ...docs];
}

/** The page's text without fenced code blocks and inline code (links there are examples, not links). */
export function proseOf(markdown: string): string {
  return markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
    .replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens; repeats get -1, -2… */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const match of withoutFences.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = match[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .trim()
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** The targets of the page's links and images, `[text](target)` and `![alt](target "title")`. */
export function linkTargets(markdown: string): string[] {
  return [...proseOf(markdown).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1]);
}

/** What is wrong with one relative link from `page`, or undefined when it leads somewhere. */
function brokenLink(page: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
    return undefined; // https:, mailto:: not this repository's
  }
  const [file, anchor] = target.split('#', 2) as [string, string | undefined];
  const destination = file === '' ? page : path.resolve(path.dirname(page), decodeURIComponent(file));
  if (!fs.existsSync(destination)) {
    return `${target}: no file ${path.relative(REPO, destination)}`;
  }
  if (anchor !== undefined && anchor !== '') {
    if (!destination.endsWith('.md')) {
      return `${target}: an anchor into a file that is not Markdown`;
    }
    if (!headingAnchors(fs.readFileSync(destination, 'utf8')).has(decodeURIComponent(anchor))) {
      return `${target}: ${path.relative(REPO, destination)} has no heading #${anchor}`;
    }
  }
  return undefined;
}

describe('README and docs/ links', () => {
  it('finds links and anchors the way GitHub renders them', () => {
    assert.deepStrictEqual(linkTargets('See [a](docs/a.md#x-y), ![p](media/p.png "t") and `[no](code.md)`.\n```\n[no](fenced.md)\n```\n'), ['docs/a.md#x-y', 'media/p.png']);
    assert.deepStrictEqual([...headingAnchors('# The `cnn-lens` CLI\n## Performance (`npm run bench`)\n### CLI\n## CLI\n```\n# not a heading\n```\n')], [
      'the-cnn-lens-cli',
      'performance-npm-run-bench',
      'cli',
      'cli-1',
    ]);
  });

  it('the README links the reference pages in docs/', () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const linked = new Set(linkTargets(readme).map((target) => target.split('#')[0]));
    for (const name of ['formats.md', 'methods.md', 'performance.md', 'cli.md', 'development.md']) {
      assert.ok(linked.has(`docs/${name}`), `README.md does not link docs/${name}`);
    }
  });

  for (const page of pages()) {
    it(`every relative link and anchor in ${path.relative(REPO, page)} leads somewhere`, () => {
      const text = fs.readFileSync(page, 'utf8');
      const broken = linkTargets(text)
        .map((target) => brokenLink(page, target))
        .filter((problem): problem is string => problem !== undefined);
      assert.deepStrictEqual(broken, [], `${path.relative(REPO, page)} has links that point nowhere`);
    });
  }
});
