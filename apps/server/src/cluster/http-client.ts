// HTTP(S) calls from the console (and the CLI) to nodes and the supervisor: keep-alive, a
// timeout per request, and the client certificate when mutual TLS is configured. Node's fetch
// cannot present a client certificate, so this uses node:http/https.

import http from 'node:http';
import https from 'node:https';
import type { TlsMaterial } from '../../../../packages/log-cluster/src/transport/tls.ts';

/** One admin or scrape request gives up after this long. */
export const HTTP_REQUEST_TIMEOUT_MS_DEFAULT = 3_000;
/** Largest body read from a node or the supervisor. */
const HTTP_RESPONSE_BYTES_MAX = 32 << 20;
/**
 * A pooled connection idle this long is closed by this side. A Node server closes an idle
 * keep-alive connection itself after 5 s (`keepAliveTimeout`; Node 20's agent ignores the server's
 * `Keep-Alive: timeout` hint when the agent has no timeout of its own), and a request sent on a
 * connection at the moment the server closes it fails with ECONNRESET: the status poll read that
 * as the node being down.
 */
export const HTTP_IDLE_SOCKET_MS_DEFAULT = 2_000;
/**
 * A GET that fails on a pooled connection before any answer is sent again on another: the server
 * closed that connection (idle, or shutting its listener), which says nothing about the server.
 * A POST is not, as the server may have acted on it before the connection dropped.
 */
const STALE_CONNECTION_RETRIES = 2;

/** The error of a request that went out on a reused connection the server had closed. */
const staleConnectionErrors = new WeakSet<Error>();

function closedByPeer(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE' || error.message === 'socket hang up';
}

export interface HttpReply {
  status: number;
  text: string;
}

export interface HttpRequestOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class HttpClient {
  private readonly agent: http.Agent;

  constructor(private readonly tls: TlsMaterial | null, idleSocketMs = HTTP_IDLE_SOCKET_MS_DEFAULT) {
    // `timeout` is the idle time after which a pooled connection is closed; a request's own
    // timeout replaces it while the request runs.
    this.agent = tls === null
      ? new http.Agent({ keepAlive: true, timeout: idleSocketMs })
      : new https.Agent({ keepAlive: true, timeout: idleSocketMs, cert: tls.cert, key: tls.key, ca: tls.ca });
  }

  async request(url: string, options: HttpRequestOptions = {}): Promise<HttpReply> {
    const target = new URL(url);
    if (this.tls !== null && target.protocol !== 'https:') throw new Error(`${url}: TLS is configured, so only https:// URLs are used`);
    const idempotent = (options.method ?? 'GET') === 'GET';
    for (let retries = 0; ; retries++) {
      try {
        return await this.send(url, target, options);
      } catch (error) {
        if (!idempotent || retries === STALE_CONNECTION_RETRIES || !staleConnectionErrors.has(error as Error)) throw error;
      }
    }
  }

  private send(url: string, target: URL, options: HttpRequestOptions): Promise<HttpReply> {
    const send = target.protocol === 'https:' ? https.request : http.request;
    return new Promise<HttpReply>((resolve, reject) => {
      let answered = false;
      const req = send(target, {
        method: options.method ?? 'GET',
        agent: this.agent,
        headers: { ...(options.headers ?? {}), ...(options.body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(options.body)) } : {}) },
        timeout: options.timeoutMs ?? HTTP_REQUEST_TIMEOUT_MS_DEFAULT,
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
      }, (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > HTTP_RESPONSE_BYTES_MAX) {
            req.destroy(new Error(`${url}: response larger than ${HTTP_RESPONSE_BYTES_MAX} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${options.timeoutMs ?? HTTP_REQUEST_TIMEOUT_MS_DEFAULT} ms`)));
      req.on('error', (error) => {
        if (!answered && req.reusedSocket && closedByPeer(error)) staleConnectionErrors.add(error);
        reject(error);
      });
      req.end(options.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
