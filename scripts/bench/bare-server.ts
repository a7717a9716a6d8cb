/**
 * The baseline: a bare node:http server that does what the gateway must do at minimum — read the
 * body, JSON.parse it, answer 202 with an id — and nothing else. Prints its URL on stdout.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let status = 202;
    let body: string;
    try {
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { traces?: unknown[] };
      body = Array.isArray(parsed.traces)
        ? JSON.stringify({ accepted: parsed.traces.map((_, index) => ({ index, trace_id: randomUUID() })), rejected: [] })
        : JSON.stringify({ trace_id: randomUUID() });
    } catch {
      status = 400;
      body = '{"error":{"code":"invalid_json"}}';
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address !== null && typeof address === 'object') process.stdout.write(`listening on http://127.0.0.1:${address.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
