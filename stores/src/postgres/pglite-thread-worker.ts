/**
 * The worker thread that holds PGlite for `pgliteOnThread` (pglite-thread.ts): it opens the database
 * in `workerData.dir` and runs the calls the owning thread sends, one message each, with PGlite's own
 * serialization (a query waits for a transaction that is open, as in one thread).
 *
 * A transaction is PGlite's own `transaction()`, held open across messages: `begin` starts it and
 * answers once it holds the database, the queries of that transaction name it (`tx`), and `end`
 * commits or rolls it back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, type QueryOptions, type Transaction } from '@electric-sql/pglite';
import type { ThreadRequest, ThreadResponse, WireError, WireOptions } from './pglite-thread.js';

const port = parentPort!;
const { dir, startParams } = workerData as { dir?: string; startParams?: string[] };
const pg = new PGlite(dir, startParams === undefined ? undefined : { startParams });

interface Open {
  tx: Transaction;
  /** Ends the transaction: true commits, false rolls back. */
  end(commit: boolean): void;
  /** Settles when PGlite has committed or rolled back. */
  done: Promise<unknown>;
}
const transactions = new Map<number, Open>();
const ROLLBACK = Symbol('rollback');

const identity = (value: string) => value;

/** PGlite's options for a call: the types whose parsers the caller runs itself come back as text. */
function optionsOf(options: WireOptions | undefined): QueryOptions | undefined {
  if (options === undefined) return undefined;
  return {
    ...(options.rowMode === undefined ? {} : { rowMode: options.rowMode }),
    ...(options.paramTypes === undefined ? {} : { paramTypes: options.paramTypes }),
    ...(options.rawTypes === undefined ? {} : { parsers: Object.fromEntries(options.rawTypes.map((oid) => [oid, identity])) }),
  };
}

/** A database error as plain data: its message and its fields (code, detail, constraint…). */
function wireError(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), fields: {} };
  const fields: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(error)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
  }
  return { name: error.name, message: error.message, fields };
}

function target(tx: number | undefined): Pick<Transaction, 'query' | 'exec'> {
  if (tx === undefined) return pg;
  const open = transactions.get(tx);
  if (open === undefined) throw new Error(`pglite thread: transaction ${tx} is not open`);
  return open.tx;
}

/** Starts a transaction; resolves once PGlite holds it (its BEGIN ran). */
function begin(id: number): Promise<void> {
  return new Promise<void>((began, failed) => {
    let end!: (commit: boolean) => void;
    const ended = new Promise<boolean>((resolve) => (end = resolve));
    const done = pg.transaction(async (tx) => {
      transactions.set(id, { tx, end, done });
      began();
      if (!(await ended)) throw ROLLBACK;
    });
    // BEGIN itself failed (the database is closed, say): no transaction was opened.
    done.catch((error: unknown) => {
      if (!transactions.has(id)) failed(error);
    });
  });
}

async function finish(id: number, commit: boolean): Promise<void> {
  const open = transactions.get(id);
  if (open === undefined) throw new Error(`pglite thread: transaction ${id} is not open`);
  open.end(commit);
  try {
    await open.done;
  } catch (error) {
    if (error !== ROLLBACK) throw error;
  } finally {
    transactions.delete(id);
  }
}

async function handle(request: ThreadRequest): Promise<unknown> {
  switch (request.op) {
    case 'query':
      return target(request.tx).query(request.sql, request.params, optionsOf(request.options));
    case 'exec':
      return target(request.tx).exec(request.sql, optionsOf(request.options));
    case 'begin':
      return begin(request.id);
    case 'rollback':
      return (transactions.get(request.tx) ?? { tx: { rollback: () => Promise.reject(new Error(`pglite thread: transaction ${request.tx} is not open`)) } }).tx.rollback();
    case 'end':
      return finish(request.tx, request.commit);
    case 'close':
      return pg.close();
  }
}

port.on('message', (request: ThreadRequest) => {
  handle(request).then(
    (result) => port.postMessage({ id: request.id, ok: true, result: result ?? null } satisfies ThreadResponse),
    (error: unknown) => port.postMessage({ id: request.id, ok: false, error: wireError(error) } satisfies ThreadResponse),
  );
});
