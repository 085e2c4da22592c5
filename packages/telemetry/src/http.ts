// Serves one node's telemetry over HTTP for the console to scrape.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ParsedSample } from './exposition.ts';

export interface TelemetrySource {
  metricsText(): Promise<string>;
  /** The same samples as a parse of metricsText(), made directly (in-process readers; optional). */
  metricsSamples?(): Promise<ParsedSample[]>;
  histogramsJson(sinceMs?: number): unknown;
  spansJson(sinceMs?: number): unknown;
}

export interface ServeTelemetryOptions {
  /** 0 picks a free port. */
  port: number;
  /** Defaults to loopback: telemetry is not meant to be exposed beyond the host by default. */
  host?: string;
  /**
   * Mutual TLS: HTTPS only, and a client must present a certificate signed by `ca` (plain HTTP
   * and certificate-less clients are refused at the handshake).
   */
  tls?: { cert: Buffer; key: Buffer; ca: Buffer } | null;
  /** Extra routes served first (a node's admin API); resolves true when it answered the request. */
  routes?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
}

export interface TelemetryServer {
  port: number;
  close(): Promise<void>;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const DEFAULT_TELEMETRY_HOST = '127.0.0.1';

export async function serveTelemetry(source: TelemetrySource, options: ServeTelemetryOptions): Promise<TelemetryServer> {
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    (async () => {
      if (options.routes !== undefined && (await options.routes(req, res))) return;
      await handle(source, req, res);
    })().catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `telemetry error: ${String(error)}\n`);
      else res.destroy();
    });
  };
  const tls = options.tls ?? null;
  const server = tls === null
    ? createServer(listener)
    : createTlsServer({ cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true }, listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? DEFAULT_TELEMETRY_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo; // listening on TCP, so an AddressInfo
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Scrapers use keep-alive; don't let idle sockets hold shutdown open.
        server.closeIdleConnections();
      }),
  };
}

async function handle(source: TelemetrySource, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://telemetry.invalid');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    return;
  }
  switch (url.pathname) {
    case '/metrics':
      send(res, 200, PROMETHEUS_CONTENT_TYPE, await source.metricsText());
      return;
    case '/histograms':
    case '/spans': {
      const since = url.searchParams.get('since');
      const sinceMs = since === null || since === '' ? undefined : Number(since);
      if (sinceMs !== undefined && !Number.isFinite(sinceMs)) {
        send(res, 400, 'text/plain; charset=utf-8', 'since must be a number of milliseconds\n');
        return;
      }
      const body = url.pathname === '/histograms' ? source.histogramsJson(sinceMs) : source.spansJson(sinceMs);
      send(res, 200, 'application/json; charset=utf-8', JSON.stringify(body));
      return;
    }
    default:
      send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
