/**
 * Session and user ids (plus tags and metadata) that every trace recorded inside
 * `withContext({ sessionId, userId }, fn)` gets, across awaits. Uses AsyncLocalStorage where the
 * runtime has it (Node, Deno, Bun, Cloudflare Workers and Vercel Edge with Node compatibility);
 * elsewhere the ids hold for the synchronous part of `fn` only.
 */

export interface TraceContext {
  sessionId?: string;
  userId?: string;
  tags?: readonly string[];
  metadata?: Readonly<Record<string, string>>;
}

interface Storage<T> {
  getStore(): T | undefined;
  run<R>(store: T, fn: () => R): R;
}

type StorageClass = new <T>() => Storage<T>;

function findAsyncLocalStorage(): StorageClass | undefined {
  const g = globalThis as { AsyncLocalStorage?: StorageClass; process?: { getBuiltinModule?: (id: string) => { AsyncLocalStorage?: StorageClass } | undefined } };
  if (g.AsyncLocalStorage !== undefined) return g.AsyncLocalStorage;
  try {
    return g.process?.getBuiltinModule?.('node:async_hooks')?.AsyncLocalStorage;
  } catch {
    return undefined;
  }
}

/** A synchronous stand-in when there is no AsyncLocalStorage. */
class StackStorage<T> implements Storage<T> {
  private current: T | undefined;
  getStore(): T | undefined {
    return this.current;
  }
  run<R>(store: T, fn: () => R): R {
    const outer = this.current;
    this.current = store;
    try {
      return fn();
    } finally {
      this.current = outer;
    }
  }
}

const Found = findAsyncLocalStorage();
const storage: Storage<TraceContext> = Found === undefined ? new StackStorage<TraceContext>() : new Found<TraceContext>();

export function currentContext(): TraceContext {
  return storage.getStore() ?? {};
}

/** Runs `fn` with these ids added to the current context (inner values win; tags and metadata merge). */
export function withContext<R>(context: TraceContext, fn: () => R): R {
  const outer = currentContext();
  const tags = [...(outer.tags ?? []), ...(context.tags ?? []).filter((tag) => !(outer.tags ?? []).includes(tag))];
  return storage.run(
    {
      ...outer,
      ...(context.sessionId === undefined ? {} : { sessionId: context.sessionId }),
      ...(context.userId === undefined ? {} : { userId: context.userId }),
      tags,
      metadata: { ...outer.metadata, ...context.metadata },
    },
    fn,
  );
}
