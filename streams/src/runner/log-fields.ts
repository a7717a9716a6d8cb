/**
 * What a log line may say about a failure: ids, counts, organizations and the reason, never what a
 * record says. A driver's error (drizzle's "Failed query: … params: …") carries the statement with the
 * values of every row of the batch — traces of several organizations — so logging an error object as
 * it is (`{ err }`, which pino serializes with its whole cause chain) would copy them into the log.
 *
 * `errorFields(error)` keeps the error's name, the first line of its own message (cut to 300
 * characters: the stores put the reason there, e.g. "pglite upsertTraces: time zone displacement out of
 * range"), and the name and code of each error it wraps; no message, stack or property of a cause.
 *
 * @example
 *   logger.warn({ ...context, error: errorFields(err), records: 500, org_ids: orgIdsOf(values) }, 'sink write failed');
 */

const MAX_REASON = 300;
const MAX_CAUSES = 8;
const MAX_ORG_IDS = 20;

export interface ErrorFields {
  name: string;
  message: string;
  code?: string;
  /** the errors it wraps, outermost first: name and code only */
  causes?: Array<{ name: string; code?: string }>;
}

function nameOf(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' || typeof code === 'number' ? String(code) : undefined;
}

/** The first line of a message, at most MAX_REASON characters. */
export function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split('\n', 1)[0] ?? '';
  return line.length > MAX_REASON ? `${line.slice(0, MAX_REASON)}…` : line;
}

export function errorFields(error: unknown): ErrorFields {
  const fields: ErrorFields = { name: nameOf(error), message: reasonOf(error) };
  const code = codeOf(error);
  if (code !== undefined) fields.code = code;
  const causes: NonNullable<ErrorFields['causes']> = [];
  for (let e = (error as { cause?: unknown } | null)?.cause; e !== undefined && e !== null && causes.length < MAX_CAUSES; e = (e as { cause?: unknown }).cause) {
    const causeCode = codeOf(e);
    causes.push(causeCode === undefined ? { name: nameOf(e) } : { name: nameOf(e), code: causeCode });
  }
  if (causes.length > 0) fields.causes = causes;
  return fields;
}

/** The organization of a decoded record (every Metronis record has `org_id`), or undefined. */
export function orgIdOf(value: unknown): string | undefined {
  const orgId = (value as { org_id?: unknown } | null)?.org_id;
  return typeof orgId === 'string' ? orgId.slice(0, 200) : undefined;
}

/** The distinct organizations of some records, sorted, at most MAX_ORG_IDS of them, and how many there were. */
export function orgIdsOf(values: Iterable<unknown>): { org_ids: string[]; org_count: number } {
  const ids = new Set<string>();
  for (const value of values) {
    const orgId = orgIdOf(value);
    if (orgId !== undefined) ids.add(orgId);
  }
  return { org_ids: [...ids].sort().slice(0, MAX_ORG_IDS), org_count: ids.size };
}
