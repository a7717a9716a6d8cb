/**
 * PGlite on a worker thread of its own: the database engine (WASM, and its file I/O) off the thread
 * that calls it. In embedded mode that thread also serves HTTP and runs the log, the sinks and the
 * console, and PGlite was half of its work; on a thread of its own it uses the machine's other core.
 *
 * `pgliteOnThread(dir)` answers the part of PGlite's client that the store uses (`query`, `exec`,
 * `transaction`, `close`; what drizzle and the sinks' SQL call), with PGlite's semantics: calls run
 * one at a time in the order they were made, a transaction holds the database until it ends (other
 * calls wait), and errors keep their fields (`code`, `detail`, `constraint`…), so the store's error
 * mapping is unchanged. Parsers given in a call's options run here, on the text PGlite returns for
 * those types (functions do not cross threads). `serializers`, `blob` and `onNotice` are refused.
 *
 * If the thread dies (it should not: PGlite's errors are answered, not thrown), every call fails with
 * SQLSTATE 08006 (connection failure), which callers treat as retriable, as they would a database
 * connection that dropped; the readiness check reports it.
 *
 * @example
 *   const client = pgliteOnThread('.metronis/postgres');
 *   const { rows } = await client.query('select 1 as one');
 *   await client.close();
 */
import { Worker } from 'node:worker_threads';
import type { PGlite, QueryOptions, Results, RowMode, Transaction } from '@electric-sql/pglite';

/** What the store uses of a PGlite client. */
export type PgliteClient = Pick<PGlite, 'query' | 'exec' | 'transaction' | 'close' | 'closed'>;

/** A call's options as they cross to the thread. */
export interface WireOptions {
  rowMode?: RowMode;
  paramTypes?: number[];
  /** Types returned as text: the caller parses them with its own parsers. */
  rawTypes?: number[];
}

export type ThreadRequest =
  | { id: number; op: 'query'; tx?: number; sql: string; params?: unknown[]; options?: WireOptions }
  | { id: number; op: 'exec'; tx?: number; sql: string; options?: WireOptions }
  | { id: number; op: 'begin' }
  | { id: number; op: 'rollback'; tx: number }
  | { id: number; op: 'end'; tx: number; commit: boolean }
  | { id: number; op: 'close' };

export interface WireError {
  name: string;
  message: string;
  fields: Record<string, string | number | boolean>;
}

export type ThreadResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: WireError };

type Parsers = NonNullable<QueryOptions['parsers']>;
type RequestBody<R = ThreadRequest> = R extends ThreadRequest ? Omit<R, 'id'> : never;

/** The thread's entry: the built `.js` next to this file, or from the TypeScript sources through tsx (tests). */
function startWorker(dir: string | undefined, startParams: readonly string[] | undefined): Worker {
  const workerData = { dir, startParams };
  if (import.meta.url.endsWith('.js')) return new Worker(new URL('./pglite-thread-worker.js', import.meta.url), { workerData });
  const entry = new URL('./pglite-thread-worker.ts', import.meta.url).href;
  const code = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(code, { eval: true, execArgv: ['--conditions=source'], workerData });
}

function toError(wire: WireError): Error {
  const error = Object.assign(new Error(wire.message), wire.fields);
  error.name = wire.name;
  return error;
}

/** Splits a call's options into what crosses to the thread and the parsers that stay here. */
function split(options: QueryOptions | undefined): { wire?: WireOptions; parsers?: Parsers } {
  if (options === undefined) return {};
  if (options.serializers !== undefined || options.blob !== undefined || options.onNotice !== undefined) {
    throw new TypeError('pglite thread: serializers, blob and onNotice cannot cross to the database thread');
  }
  const parsers = options.parsers;
  const wire: WireOptions = {
    ...(options.rowMode === undefined ? {} : { rowMode: options.rowMode }),
    ...(options.paramTypes === undefined ? {} : { paramTypes: options.paramTypes }),
    ...(parsers === undefined ? {} : { rawTypes: Object.keys(parsers).map(Number) }),
  };
  return { wire, ...(parsers === undefined ? {} : { parsers }) };
}

/** Runs the caller's parsers on the fields PGlite returned as text. */
function parse<T>(result: Results<T>, parsers: Parsers | undefined, rowMode: RowMode | undefined): Results<T> {
  if (parsers === undefined) return result;
  result.fields.forEach((field, i) => {
    const parser = parsers[field.dataTypeID];
    if (parser === undefined) return;
    for (const row of result.rows as Record<string | number, unknown>[]) {
      const key = rowMode === 'array' ? i : field.name;
      const value = row[key];
      if (typeof value === 'string') row[key] = parser(value);
    }
  });
  return result;
}

/** PGlite in `dir` (in memory when undefined) on a thread of its own, started with `startParams` when given. */
export function pgliteOnThread(dir: string | undefined, startParams?: readonly string[]): PgliteClient {
  const worker = startWorker(dir, startParams);
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  let nextId = 1;
  let dead: Error | undefined;
  let closed = false;
  worker.unref();

  const fail = (why: string) => {
    dead ??= Object.assign(new Error(`the PGlite thread stopped: ${why}`), { code: '08006' });
    for (const call of pending.values()) call.reject(dead);
    pending.clear();
  };
  worker.on('message', (response: ThreadResponse) => {
    const call = pending.get(response.id);
    if (call === undefined) return;
    pending.delete(response.id);
    if (pending.size === 0) worker.unref();
    if (response.ok) call.resolve(response.result);
    else call.reject(toError(response.error));
  });
  worker.on('error', (error) => fail(error.message));
  worker.on('exit', (code) => fail(closed ? 'closed' : `exited with code ${code}`));

  /** Sends one call; the thread is kept referenced while a call waits, so a pending call keeps the process alive. */
  function call<T>(request: RequestBody, id = nextId++): Promise<T> {
    if (dead !== undefined) return Promise.reject(dead);
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      if (pending.size === 1) worker.ref();
      worker.postMessage({ ...request, id } as ThreadRequest);
    });
  }

  async function query<T>(tx: number | undefined, sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>> {
    const { wire, parsers } = split(options);
    return call<Results<T>>({ op: 'query', sql, ...(tx === undefined ? {} : { tx }), ...(params === undefined ? {} : { params }), ...(wire === undefined ? {} : { options: wire }) }).then((r) =>
      parse(r, parsers, options?.rowMode),
    );
  }

  async function exec(tx: number | undefined, sql: string, options?: QueryOptions): Promise<Results[]> {
    const { wire, parsers } = split(options);
    return call<Results[]>({ op: 'exec', sql, ...(tx === undefined ? {} : { tx }), ...(wire === undefined ? {} : { options: wire }) }).then((results) =>
      results.map((r) => parse(r, parsers, options?.rowMode)),
    );
  }

  const unsupported = (what: string) => () => Promise.reject(new TypeError(`pglite thread: ${what} is not available across the database thread`));

  return {
    query: <T>(sql: string, params?: unknown[], options?: QueryOptions) => query<T>(undefined, sql, params, options),
    exec: (sql: string, options?: QueryOptions) => exec(undefined, sql, options),

    async transaction<T>(callback: (tx: Transaction) => Promise<T>): Promise<T> {
      const id = nextId++;
      await call<void>({ op: 'begin' }, id);
      let ended = false;
      const open = () => {
        if (ended) throw new Error('Transaction is closed');
      };
      const tx: Transaction = {
        query: async <R>(sql: string, params?: unknown[], options?: QueryOptions) => (open(), query<R>(id, sql, params, options)),
        exec: async (sql: string, options?: QueryOptions) => (open(), exec(id, sql, options)),
        sql: unsupported('tx.sql'),
        listen: unsupported('tx.listen'),
        rollback: async () => {
          open();
          await call<void>({ op: 'rollback', tx: id });
          ended = true;
        },
        get closed() {
          return ended;
        },
      };
      let result: T;
      try {
        result = await callback(tx);
      } catch (error) {
        ended = true;
        await call<void>({ op: 'end', tx: id, commit: false }).catch(() => undefined);
        throw error;
      }
      ended = true;
      await call<void>({ op: 'end', tx: id, commit: true });
      return result;
    },

    get closed() {
      return closed || dead !== undefined;
    },

    async close() {
      if (closed) return;
      closed = true;
      try {
        if (dead === undefined) await call<void>({ op: 'close' });
      } finally {
        await worker.terminate();
      }
    },
  } as PgliteClient;
}
