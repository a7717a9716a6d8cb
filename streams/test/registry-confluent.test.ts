/**
 * How the Confluent registry client maps transport failures to our error taxonomy, with real sockets:
 * a closed port, a server that never answers, and HTTP servers answering errors. The real registry
 * (Apicurio) is exercised by registry-confluent.integration.test.ts.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createConfluentRegistry, IncompatibleSchemaError, isRetriable, RegistryUnavailableError, SchemaRegistryError, SerdeError } from '../src/index.js';

const schema = { type: 'record', name: 'T', fields: [{ name: 'a', type: 'string' }] };
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function closedPort(): Promise<number> {
  const server = createTcpServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** An HTTP server answering every request with `status` and `body`. */
async function answering(status: number, body: unknown): Promise<string> {
  const server = createHttpServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  const port = await listen(server);
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${port}/apis/ccompat/v7`;
}

describe('Confluent registry client: failures', () => {
  it('a closed port is RegistryUnavailableError (retriable) for register, getSchema and ping', async () => {
    const registry = createConfluentRegistry({ url: `http://127.0.0.1:${await closedPort()}`, timeoutMs: 2000 });
    const attempts = [() => registry.register('s-value', schema), () => registry.getSchema(1), () => registry.ping()];
    for (const attempt of attempts) {
      const error = await attempt().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(RegistryUnavailableError);
      expect(isRetriable(error)).toBe(true);
      expect((error as Error).message).toMatch(/is unreachable .*ECONNREFUSED/);
    }
  });

  it('a server that never answers times out as RegistryUnavailableError', async () => {
    const sockets = new Set<Socket>();
    const server = createTcpServer((socket) => sockets.add(socket));
    const port = await listen(server);
    closers.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    });
    const registry = createConfluentRegistry({ url: `http://127.0.0.1:${port}`, timeoutMs: 200 });
    await expect(registry.getSchema(1)).rejects.toThrow(RegistryUnavailableError);
    await expect(registry.ping()).rejects.toThrow(/no answer within 200 ms/);
  });

  it('5xx and 429 are RegistryUnavailableError', async () => {
    for (const status of [500, 503, 429]) {
      const registry = createConfluentRegistry({ url: await answering(status, { error_code: status, message: 'busy' }) });
      await expect(registry.getSchema(7)).rejects.toBeInstanceOf(RegistryUnavailableError);
      await expect(registry.register('s-value', schema)).rejects.toThrow(new RegExp(`answered ${status} .*busy`));
    }
  });

  it('an unknown id (404) is a SerdeError: the record is poison', async () => {
    const registry = createConfluentRegistry({ url: await answering(404, { error_code: 40403, message: 'Schema 7 not found.' }) });
    const error = await registry.getSchema(7).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(SerdeError);
    expect(isRetriable(error)).toBe(false);
    expect((error as Error).message).toMatch(/schema id 7 is not known/);
  });

  it('409 is IncompatibleSchemaError, 422 and 401 are SchemaRegistryError, none retriable', async () => {
    const incompatible = createConfluentRegistry({ url: await answering(409, { error_code: 409, message: 'Incompatible artifact' }) });
    await expect(incompatible.register('s-value', schema)).rejects.toThrow(IncompatibleSchemaError);
    for (const status of [422, 401]) {
      const registry = createConfluentRegistry({ url: await answering(status, { error_code: status, message: 'no' }) });
      const error = await registry.register('s-value', schema).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(SchemaRegistryError);
      expect(error).not.toBeInstanceOf(IncompatibleSchemaError);
      expect(isRetriable(error)).toBe(false);
      expect((error as Error).message).toMatch(new RegExp(`refused to register subject s-value \\(${status}\\): no`));
    }
  });

  it('a non-Avro schema id is a SerdeError', async () => {
    const registry = createConfluentRegistry({ url: await answering(200, { schema: 'syntax = "proto3";', schemaType: 'PROTOBUF' }) });
    await expect(registry.getSchema(3)).rejects.toThrow(/schema id 3 is a PROTOBUF schema, not Avro/);
  });

  it('bad options and arguments are clear errors', async () => {
    expect(() => createConfluentRegistry({ url: 'not a url' })).toThrow(/not a valid URL: "not a url"/);
    expect(() => createConfluentRegistry({ url: 'http://127.0.0.1:1', timeoutMs: 0 })).toThrow(/timeoutMs must be a positive number/);
    const registry = createConfluentRegistry({ url: 'http://127.0.0.1:1' });
    await expect(registry.register('', schema)).rejects.toThrow(/subject must be a non-empty string/);
    await expect(registry.getSchema(-1)).rejects.toThrow(/schema id must be an integer/);
  });
});
