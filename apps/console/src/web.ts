/**
 * Serves the built console UI (apps/console-web, `npm run build`) from memory: hashed files under
 * `/assets/` for a year (immutable), `index.html` for `/` and for every other page path the UI routes
 * in the browser (`/traces/abc`, `/settings/keys`), never cached, so a new release is picked up on the
 * next load. The console's strict CSP (own scripts, styles and connections only; no inline script)
 * covers every answer; the build emits no inline script.
 *
 * @example
 *   const web = await loadWebAssets(distDir); // undefined when the UI was not built
 *   createConsoleApp({ ..., web });
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import type { Hono } from 'hono';
import type { ConsoleEnv } from './http.js';

export interface WebAsset {
  body: Uint8Array;
  type: string;
  etag: string;
}

export interface WebAssets {
  /** by URL path, e.g. `/assets/index-3f2a.js` */
  files: Map<string, WebAsset>;
  index: WebAsset;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Paths the API answers; the UI never claims them. */
const API_PREFIXES = ['/v1/', '/auth/', '/live', '/openapi.json', '/healthz', '/readyz'];

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** The UI's files from its build folder, or undefined when there is no build (index.html missing). */
export async function loadWebAssets(dir: string): Promise<WebAssets | undefined> {
  try {
    if (!(await stat(join(dir, 'index.html'))).isFile()) return undefined;
  } catch {
    return undefined;
  }
  const files = new Map<string, WebAsset>();
  for (const path of await walk(dir)) {
    const body = await readFile(path);
    const url = '/' + relative(dir, path).split(sep).join('/');
    files.set(url, { body, type: TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` });
  }
  return { files, index: files.get('/index.html')! };
}

export function serveWebAssets(app: Hono<ConsoleEnv>, web: WebAssets): void {
  app.on(['GET', 'HEAD'], '*', async function webAsset(c, next) {
    const path = c.req.path;
    if (API_PREFIXES.some((p) => path === p.replace(/\/$/, '') || path.startsWith(p))) return next();
    const file = web.files.get(path);
    const asset = file ?? (extname(path) === '' ? web.index : undefined);
    if (asset === undefined) return next();
    const immutable = file !== undefined && path.startsWith('/assets/');
    const headers = { 'Content-Type': asset.type, ETag: asset.etag, 'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache' };
    if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304, headers);
    if (c.req.method === 'HEAD') return c.body(null, 200, headers);
    return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, headers);
  });
}
