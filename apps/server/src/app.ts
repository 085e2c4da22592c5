// Builds the whole server: scraper + stores over the embedded cluster or attached URLs, the
// load generator, the audit trail, and one HTTP server with /trpc, /healthz and the SPA.
// The CLI and the tests share it.

import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import type { TelemetrySource } from '@logscope/telemetry';
import { AuditTrail, generateToken } from './auth.ts';
import { createContext } from './context.ts';
import { attachDrillEngine } from './drills/registry.ts';
import { closeFaultControl, DRAINS_FILE, openFaultControl } from './faults/control.ts';
import { LeaderBalancer } from './faults/leader-balancer.ts';
import { LoadGenerator, type AppendClient, type LoadConfig } from './load/generator.ts';
import { appRouter } from './routers/index.ts';
import { Scraper } from './scrape/scraper.ts';
import { httpSource, inProcessSource, type ScrapeSource } from './scrape/sources.ts';
import { ClusterView } from './scrape/view.ts';
import { DEFAULT_SLO_P99_MS, type ClusterHandle, type Services } from './services.ts';
import { HistogramStore } from './store/histograms.ts';
import { PrometheusHistory } from './store/prometheus-history.ts';
import { SeriesStore } from './store/series.ts';
import { TraceStore } from './store/traces.ts';
import { AutoRestartAudit } from './auto-restart-audit.ts';

export const DEFAULT_PORT = 7070;
export const DEFAULT_HOST = '127.0.0.1';
/** The load generator's own latencies are filed as node 0, metric 'client'. */
export const CLIENT_NODE_ID = 0;
const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../../console/dist/', import.meta.url));

/** What createApp needs of an EmbeddedCluster. */
export interface EmbeddedClusterLike extends ClusterHandle {
  telemetry(nodeId: number): TelemetrySource;
  client(): AppendClient;
}

/** A cluster of node processes (cluster/remote-cluster.ts): scraped over HTTP, acted on through admin APIs. */
export interface RemoteClusterLike extends ClusterHandle {
  client(): AppendClient;
  scrapeSources(): ScrapeSource[];
}

export interface CreateAppOptions {
  cluster?: EmbeddedClusterLike;
  /** Instead of `cluster`: node processes with faults, load and drills (`up --cluster` / `--attach` with a secret). */
  remoteCluster?: RemoteClusterLike;
  attachUrls?: readonly string[];
  dataDir: string;
  /** Defaults to LOGSCOPE_OPERATOR_TOKEN's value if the caller passes it, else a fresh random token. */
  operatorToken?: string;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Start the load generator (embedded only). */
  load?: Partial<LoadConfig> & { enabled: boolean };
  scrapeIntervalMs?: number;
  scrapeTimeoutMs?: number;
  sloP99Ms?: number;
  /** Base URL of a Prometheus server scraping the nodes: ranges older than the ring buffers come from it. */
  prometheusUrl?: string;
  /** A guided drill waiting this long for its next step aborts itself (and heals). */
  drillIdleAbortMs?: number;
  /** A returned node gets its preferred leaderships back after this long up (default 10 s); 0: never by itself (drains still move). */
  rebalanceSettleMs?: number;
  /** The built SPA; null serves no SPA. */
  staticDir?: string | null;
}

export interface App {
  url: string;
  port: number;
  operatorToken: string;
  services: Services;
  /** Stops load (in-flight appends finish), scraping and the HTTP server; the cluster is the caller's. */
  close(): Promise<void>;
}

export async function createApp(options: CreateAppOptions): Promise<App> {
  mkdirSync(options.dataDir, { recursive: true });
  const embedded = options.cluster ?? null;
  const cluster: (ClusterHandle & { client(): AppendClient }) | null = embedded ?? options.remoteCluster ?? null;
  if (cluster === null && (options.attachUrls === undefined || options.attachUrls.length === 0)) {
    throw new Error('createApp needs an embedded cluster, a remote cluster or attach URLs');
  }
  const sources: ScrapeSource[] = embedded !== null
    ? embedded.nodeIds().map((id) => inProcessSource(id, embedded.telemetry(id), () => {
        const h = embedded.health().find((x) => x.node === id);
        return h === undefined || h.up ? null : (h.reason ?? 'down');
      }))
    : options.remoteCluster !== undefined
      ? options.remoteCluster.scrapeSources()
      : (options.attachUrls ?? []).map((url) => httpSource(url));

  const series = new SeriesStore();
  const histograms = new HistogramStore();
  const traces = new TraceStore();
  const view = new ClusterView(cluster !== null ? { partitionCount: cluster.partitionCount, replicasOf: (p) => cluster.replicasOf(p) } : null);
  const load = cluster !== null ? new LoadGenerator(cluster.client(), options.load ?? {}) : null;
  const audit = AuditTrail.open(options.dataDir);
  const tickListeners = new Set<(tMs: number) => void>();
  let clientSinceMs: number | undefined;
  const autoRestarts = cluster?.autoRestarts === undefined ? null : new AutoRestartAudit(audit, () => cluster.autoRestarts?.() ?? []);
  const balancer = cluster === null ? null : new LeaderBalancer(cluster, audit, options.rebalanceSettleMs !== undefined ? { settleMs: options.rebalanceSettleMs } : {});

  const scraper = new Scraper(sources, { series, histograms, traces }, {
    ...(options.scrapeIntervalMs !== undefined ? { intervalMs: options.scrapeIntervalMs } : {}),
    ...(options.scrapeTimeoutMs !== undefined ? { timeoutMs: options.scrapeTimeoutMs } : {}),
    onTick: (tMs) => {
      view.update(scraper.snapshots(), tMs);
      autoRestarts?.poll();
      void balancer?.poll().catch((error: unknown) => console.error('leader balancer:', error));
      if (load !== null) {
        for (const w of load.latency.windows(clientSinceMs)) {
          histograms.add(CLIENT_NODE_ID, 'client', null, w);
          clientSinceMs = w.endMs;
        }
      }
      for (const listener of [...tickListeners]) {
        try {
          listener(tMs);
        } catch (error) {
          console.error('live subscriber failed:', error);
        }
      }
    },
  });

  const services: Services = {
    scraper, view, series, histograms, traces, audit, cluster, balancer, load,
    operatorToken: options.operatorToken ?? generateToken(),
    sloP99Ms: options.sloP99Ms ?? DEFAULT_SLO_P99_MS,
    prometheus: options.prometheusUrl === undefined ? null : new PrometheusHistory(options.prometheusUrl),
    tickListeners,
  };
  const drills = attachDrillEngine(services, cluster, load, options.dataDir, {
    sloP99Ms: services.sloP99Ms,
    ...(options.drillIdleAbortMs !== undefined ? { idleAbortMs: options.drillIdleAbortMs } : {}),
  });

  const host = options.host ?? DEFAULT_HOST;
  const ownOrigins = new Set<string>();
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    createContext: ({ req }) => createContext(services, { headers: req.headers, ownOrigins }),
    onError: ({ error, path }) => {
      // Headers (the token) are never logged; only unexpected failures are.
      if (error.code === 'INTERNAL_SERVER_ERROR') console.error(`trpc ${path ?? '?'}: ${error.message}`);
    },
  });
  const staticDir = options.staticDir === undefined ? DEFAULT_STATIC_DIR : options.staticDir;
  const server = createServer((req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://server.invalid');
      if (url.pathname === '/trpc' || url.pathname.startsWith('/trpc/')) {
        trpc(req, res);
        return;
      }
      if (url.pathname === '/healthz') {
        healthz(services, res);
        return;
      }
      // Each embedded node's Prometheus exposition, so a Prometheus server can scrape `logscope up`.
      const metrics = NODE_METRICS_PATH.exec(url.pathname);
      if (metrics !== null) {
        nodeMetrics(embedded ?? null, Number(metrics[1]), res);
        return;
      }
      serveStatic(staticDir, url.pathname, req, res);
    } catch (error) {
      if (!res.headersSent) sendText(res, 500, `internal error: ${error instanceof Error ? error.message : String(error)}\n`);
      else res.destroy();
    }
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_PORT, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const { port } = server.address() as AddressInfo; // TCP listener, so an AddressInfo
  const urlHost = host.includes(':') ? `[${host}]` : host;
  for (const h of new Set([urlHost, '127.0.0.1', 'localhost', '[::1]'])) ownOrigins.add(`http://${h}:${port}`);

  // Node processes outlive this server: its drains are kept for (and taken up by) the next one.
  if (options.remoteCluster !== undefined) openFaultControl(services, { drainsFile: join(options.dataDir, DRAINS_FILE), audit });
  scraper.start();
  if (load !== null && options.load?.enabled !== false) load.start();

  let closing: Promise<void> | null = null;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    operatorToken: services.operatorToken,
    services,
    close: () => {
      closing ??= (async () => {
        await drills?.close(); // aborts a running drill: its faults are healed
        await closeFaultControl(services); // heals what the console injected
        await load?.close();
        await scraper.stop();
        await new Promise<void>((resolveClose) => {
          server.close(() => resolveClose());
          server.closeAllConnections(); // SSE streams would otherwise hold close open
        });
        audit.close();
      })();
      return closing;
    },
  };
}

/** `/nodes/<id>/metrics`: one scrape target per embedded node (series names collide across nodes, so no merged /metrics). */
export const NODE_METRICS_PATH = /^\/nodes\/(\d{1,4})\/metrics$/;

function nodeMetrics(cluster: EmbeddedClusterLike | null, node: number, res: ServerResponse): void {
  if (cluster === null || !cluster.nodeIds().includes(node)) {
    sendText(res, 404, cluster === null ? 'attached mode: scrape the nodes\' own /metrics\n' : `no node ${node} (nodes: ${cluster.nodeIds().join(', ')})\n`);
    return;
  }
  cluster.telemetry(node).metricsText().then(
    (text) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
      res.end(text);
    },
    (error: unknown) => sendText(res, 500, `metrics of node ${node} failed: ${error instanceof Error ? error.message : String(error)}\n`),
  );
}

function healthz(services: Services, res: ServerResponse): void {
  const partitions = services.view.partitions();
  const leaderless = services.cluster !== null
    ? Array.from({ length: services.cluster.partitionCount }, (_, p) => p).filter((p) => services.cluster?.leaderOf(p) === 0)
    : partitions.filter((p) => p.leader === 0).map((p) => p.partition);
  const ready = leaderless.length === 0 && (services.cluster !== null || partitions.length > 0);
  const body = JSON.stringify({ ok: ready, leaderlessPartitions: leaderless, targets: services.scraper.statuses().map((s) => ({ name: s.name, up: s.up })) });
  res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

function serveStatic(staticDir: string | null, pathname: string, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    sendText(res, 405, 'method not allowed\n');
    return;
  }
  if (staticDir === null) {
    sendText(res, 404, 'not found\n');
    return;
  }
  const root = resolve(staticDir);
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    sendText(res, 400, 'bad path\n');
    return;
  }
  const candidate = resolve(root, '.' + normalize(decoded));
  const inside = candidate === root || candidate.startsWith(root + sep);
  let file = inside && isFile(candidate) ? candidate : null;
  // The SPA shell only for page paths ("/", or a page name such as /latency); any other unknown path
  // (/metrics, /api/x, a missing asset) is a 404, not an HTML page with 200.
  if (file === null) {
    if (!isPagePath(decoded)) {
      sendText(res, 404, `not found: ${pathname} (the console is at /, the API at /trpc, node metrics at /nodes/<id>/metrics)\n`);
      return;
    }
    file = isFile(join(root, 'index.html')) ? join(root, 'index.html') : null;
  }
  if (file === null) {
    sendText(res, 404, 'the console is not built: run `npm run build`\n');
    return;
  }
  const body = readFileSync(file);
  const hashedAsset = file.includes(`${sep}assets${sep}`);
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': hashedAsset ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

const PAGE_NAMES = new Set(['overview', 'latency', 'replication', 'partitions', 'traces', 'faults', 'drills', 'audit']);

function isPagePath(pathname: string): boolean {
  const first = pathname.split('/').filter((x) => x.length > 0)[0];
  return first === undefined || first === 'index.html' || PAGE_NAMES.has(first);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
