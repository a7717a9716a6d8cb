/**
 * `npm run eval:tier1`: runs every corpus case through its module, prints precision and recall per
 * module and finding kind, and writes EVALUATION.md at the repository root. Exits 1 when a case is
 * malformed or the corpus has fewer than MIN_CASES cases (then EVALUATION.md is left as it was).
 *
 * The npm script starts plain `node --import tsx`, which resolves workspace packages to their built
 * `dist/`; this entry adds the "source" export condition (as the tests do) before loading the rest,
 * so the evaluation needs no build.
 */
import { register } from 'node:module';

const addSourceCondition = `export async function resolve(specifier, context, next) {
  return next(specifier, { ...context, conditions: [...new Set(['source', ...context.conditions])] });
}`;
register(`data:text/javascript,${encodeURIComponent(addSourceCondition)}`);

const { main } = await import('./eval-main.js');
process.exitCode = main(process.argv.slice(2));
