/**
 * The judge's providers under the egress policy: a base URL inside the deployment's network is never
 * reached, whether its text names the address or a name resolves to it at connect time (DNS
 * rebinding), and the operator's allow-list lets a listed address through, on the connection the
 * policy resolved (the real OpenAI SDK against a local OpenAI-compatible server).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEgressPolicy, type Resolver } from '@metronis/stores';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egressFetch } from '../src/egress-fetch.js';
import { createProvider } from '../src/providers.js';

/** `judge.test` resolves to loopback, as a public name rebound to an internal address would. */
const resolver: Resolver = (hostname, _options, callback) => {
  if (hostname === 'judge.test') callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
};

let server: Server;
let port: number;
const received: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        id: 'c1',
        object: 'chat.completion',
        created: 0,
        model: 'm',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: '{"ok":true}', refusal: null } }],
        usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const request = { system: 'judge', messages: [{ role: 'user' as const, content: 'hi' }], schemaName: 'j', schema: { type: 'object' }, maxOutputTokens: 16, signal: AbortSignal.timeout(5_000) };

describe('egressFetch', () => {
  it('refuses an internal address written in the URL without connecting', async () => {
    const fetch = egressFetch(createEgressPolicy({ resolver }));
    await expect(fetch(`http://127.0.0.1:${port}/v1/chat/completions`)).rejects.toMatchObject({ code: 'EGRESS_REFUSED' });
    await expect(fetch('http://169.254.169.254/latest/meta-data')).rejects.toThrow(/link-local/);
    expect(received).toEqual([]);
  });

  it('refuses a name that resolves inside the network when connecting, through the OpenAI SDK too', async () => {
    const fetch = egressFetch(createEgressPolicy({ resolver }));
    await expect(fetch(`http://judge.test:${port}/v1/chat/completions`)).rejects.toThrow();
    const provider = createProvider({ provider: 'openai_compatible', model: 'm', apiKey: 'k', baseUrl: `http://judge.test:${port}/v1` }, fetch);
    // A refused connection is transient to the judge: the trace waits as "judge pending" until an admin fixes the URL.
    await expect(provider.complete({ ...request, signal: AbortSignal.timeout(5_000) })).rejects.toMatchObject({ name: 'ProviderError', transient: true });
    expect(received).toEqual([]);
  });

  it('lets an allowed address through, connecting where the policy resolved the name', async () => {
    const fetch = egressFetch(createEgressPolicy({ allow: ['127.0.0.1'], resolver }));
    const provider = createProvider({ provider: 'openai_compatible', model: 'm', apiKey: 'k', baseUrl: `http://judge.test:${port}/v1` }, fetch);
    const completion = await provider.complete({ ...request, signal: AbortSignal.timeout(5_000) });
    expect(completion).toMatchObject({ kind: 'answer', text: '{"ok":true}' });
    expect(received).toEqual(['POST /v1/chat/completions']);
  });
});
