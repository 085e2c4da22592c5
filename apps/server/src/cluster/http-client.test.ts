// The console's HTTP client against real servers: a pooled connection the server closes must not
// fail a read (the status poll took such a failure for the node being down).
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient } from './http-client.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Served {
  url: string;
  server: http.Server;
  connections: number;
  requests: number;
  /** Connections whose other end (the client) closed them. */
  closedByClient: number;
}

/**
 * Answers "ok" to the first request on each connection and destroys the connection, unanswered,
 * on the second: what a client sees when the server closes an idle pooled connection just as a
 * request is sent on it.
 */
async function resetsReusedConnections(): Promise<Served> {
  const served: Served = { url: '', server: http.createServer(), connections: 0, requests: 0, closedByClient: 0 };
  const perSocket = new WeakMap<Socket, number>();
  served.server.on('connection', (socket: Socket) => {
    served.connections++;
    socket.on('end', () => served.closedByClient++);
  });
  served.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    served.requests++;
    const n = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, n);
    if (n >= 2) req.socket.destroy();
    else res.end(`ok ${served.connections}`);
  });
  await new Promise<void>((resolve) => served.server.listen(0, '127.0.0.1', resolve));
  served.url = `http://127.0.0.1:${(served.server.address() as AddressInfo).port}/`;
  return served;
}

describe('HttpClient', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
  const track = (served: Served, client: HttpClient): void => {
    cleanups.push(() => {
      client.close();
      served.server.closeAllConnections();
      served.server.close();
    });
  };

  it('sends a GET again on a new connection when the server closed the pooled one unanswered', async () => {
    const served = await resetsReusedConnections();
    const client = new HttpClient(null);
    track(served, client);
    expect((await client.request(served.url)).text).toBe('ok 1');
    // Sent on the pooled connection, which the server destroys; answered on a second one.
    expect((await client.request(served.url)).text).toBe('ok 2');
    expect(served).toMatchObject({ connections: 2, requests: 3 });
  });

  it('does not send a POST again: the server may have acted on it', async () => {
    const served = await resetsReusedConnections();
    const client = new HttpClient(null);
    track(served, client);
    await client.request(served.url, { method: 'POST', body: '{}' });
    await expect(client.request(served.url, { method: 'POST', body: '{}' })).rejects.toThrow(/ECONNRESET|socket hang up/);
    expect(served).toMatchObject({ connections: 1, requests: 2 });
  });

  it('fails a GET at once when the server is gone (nothing to retry on)', async () => {
    const served = await resetsReusedConnections();
    const client = new HttpClient(null);
    track(served, client);
    await client.request(served.url);
    served.server.closeAllConnections();
    await new Promise<void>((resolve) => served.server.close(() => resolve()));
    await expect(client.request(served.url)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('closes an idle pooled connection itself, before the server would', async () => {
    const served = await resetsReusedConnections();
    served.server.keepAliveTimeout = 60_000;
    const client = new HttpClient(null, 100);
    track(served, client);
    await client.request(served.url);
    for (let waitedMs = 0; served.closedByClient === 0 && waitedMs < 10_000; waitedMs += 20) await sleep(20);
    expect(served.closedByClient).toBe(1);
    // The next request opens a connection of its own, not the closed one.
    expect((await client.request(served.url)).text).toBe('ok 2');
    expect(served).toMatchObject({ connections: 2, requests: 2 });
  });
});
