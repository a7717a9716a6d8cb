/**
 * `npm run eval:peers`: Tier 1's PII and secret detection against Presidio and detect-secrets on the
 * same generated, labelled texts; writes its section of EVALUATION.md (see peers/main.ts). Like
 * eval-tier1.ts, it adds the "source" export condition first so that no build is needed.
 */
import { register } from 'node:module';

const addSourceCondition = `export async function resolve(specifier, context, next) {
  return next(specifier, { ...context, conditions: [...new Set(['source', ...context.conditions])] });
}`;
register(`data:text/javascript,${encodeURIComponent(addSourceCondition)}`);

const { main } = await import('./peers/main.js');
process.exitCode = main(process.argv.slice(2));
