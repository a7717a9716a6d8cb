/**
 * Sends prepared request bodies with a fixed number of requests in flight, retrying one that is
 * refused (429/503 and the like) after its `Retry-After` (1 s when absent), up to 20 times. Shared by
 * the benchmarks that load a server with the same bodies (bench:otlp, bench:footprint).
 *
 * @example
 *   await sendAll(bodies, 2, (body) => fetch(`${url}/otlp/v1/traces`, { method: 'POST', headers, body }));
 */
export async function sendAll<B>(bodies: readonly B[], concurrency: number, post: (body: B) => Promise<Response>): Promise<number> {
  let next = 0;
  let failed = 0;
  let last = '';
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        for (let attempt = 0; ; attempt++) {
          const response = await post(body);
          const text = await response.text();
          if (response.ok) break;
          if (attempt >= 20) {
            failed++;
            last = `${response.status}: ${text.slice(0, 500)}`;
            break;
          }
          await new Promise((r) => setTimeout(r, Number(response.headers.get('retry-after') ?? 1) * 1000));
        }
      }
    }),
  );
  if (failed > 0) throw new Error(`${failed} requests failed 20 times, the last with ${last}`);
  return bodies.length;
}
