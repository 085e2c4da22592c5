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

export interface HttpReply {
  status: number;
  text: string;
}

export class HttpClient {
  private readonly agent: http.Agent;

  constructor(private readonly tls: TlsMaterial | null) {
    this.agent = tls === null
      ? new http.Agent({ keepAlive: true })
      : new https.Agent({ keepAlive: true, cert: tls.cert, key: tls.key, ca: tls.ca });
  }

  request(url: string, options: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<HttpReply> {
    const target = new URL(url);
    if (this.tls !== null && target.protocol !== 'https:') return Promise.reject(new Error(`${url}: TLS is configured, so only https:// URLs are used`));
    const send = target.protocol === 'https:' ? https.request : http.request;
    return new Promise<HttpReply>((resolve, reject) => {
      const req = send(target, {
        method: options.method ?? 'GET',
        agent: this.agent,
        headers: { ...(options.headers ?? {}), ...(options.body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(options.body)) } : {}) },
        timeout: options.timeoutMs ?? HTTP_REQUEST_TIMEOUT_MS_DEFAULT,
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
      }, (res) => {
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
      req.on('error', reject);
      req.end(options.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
