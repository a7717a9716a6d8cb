/**
 * The body of `npm run eval:tier1` (see eval-tier1.ts). Options: `--corpus <dir>` (default
 * evaluators/corpus), `--out <file>` (default EVALUATION.md at the repository root), `--no-write`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCorpus } from './corpus.js';
import { evaluateCorpus, renderMarkdown, renderText } from './evaluate.js';

export const MIN_CASES = 300;
const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function currentCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const paths = ['evaluators/src', 'evaluators/corpus', 'evaluators/scripts'];
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=all', '--', ...paths], { cwd: repoRoot, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${sha} (with uncommitted changes in ${paths.join(', ')})` : sha;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** Sections that other tiers' evaluations wrote after LATER_TIERS_MARKER (e.g. tier 2's, by `npm run train:tier2`): kept as they are. */
export const LATER_TIERS_MARKER = '<!-- later tiers: written by their own pipelines; npm run eval:tier1 keeps everything from here -->';
/** The section `npm run eval:peers` writes (between these markers, before the later tiers): kept as it is. */
export const PEERS_BEGIN = '<!-- tier 1 against its peers: written by npm run eval:peers; npm run eval:tier1 keeps it -->';
export const PEERS_END = '<!-- end of tier 1 against its peers -->';
function laterSections(out: string): string {
  let existing = '';
  try {
    existing = readFileSync(out, 'utf8');
  } catch {
    return '';
  }
  const begin = existing.indexOf(PEERS_BEGIN);
  const end = existing.indexOf(PEERS_END);
  const peers = begin !== -1 && end > begin ? '\n' + existing.slice(begin, end + PEERS_END.length) + '\n' : '';
  const at = existing.indexOf(LATER_TIERS_MARKER);
  return peers + (at === -1 ? '' : '\n' + existing.slice(at));
}

export function main(args: string[]): number {
  const corpusDir = resolve(option(args, '--corpus') ?? join(repoRoot, 'evaluators', 'corpus'));
  const out = resolve(option(args, '--out') ?? join(repoRoot, 'EVALUATION.md'));
  const { cases, errors, files } = loadCorpus(corpusDir);
  for (const e of errors) console.error(`malformed case ${e.file}:${e.line}: ${e.message}`);

  // a first pass pays one-time costs (the spelling dictionary, JIT) so the timings of the second are per case
  evaluateCorpus(cases);
  const { modules, misses } = evaluateCorpus(cases);
  console.log(renderText(modules));
  for (const m of misses) console.log(`  found ≠ expected: ${m.id}: expected [${m.expected.join(', ')}], found [${m.found.join(', ')}]`);
  console.log(`\n${cases.length} cases in ${files.length} files`);

  let ok = true;
  if (errors.length > 0) {
    console.error(`${errors.length} malformed case(s): fix them before the evaluation counts`);
    ok = false;
  }
  if (cases.length < MIN_CASES) {
    console.error(`the corpus has ${cases.length} cases; at least ${MIN_CASES} are required`);
    ok = false;
  }
  if (!ok) return 1;
  if (!args.includes('--no-write')) {
    const markdown = renderMarkdown(modules, { date: new Date().toISOString().slice(0, 10), commit: currentCommit(), totalCases: cases.length, files, misses });
    writeFileSync(out, markdown + laterSections(out));
    console.log(`wrote ${out}`);
  }
  return 0;
}
