// Polls every target on an interval, each bounded by a timeout, and files what it finds into
// the stores. A target that is down, hangs or answers garbage is marked so; the others and
// the server carry on. Nothing a target sends can throw out of a tick.

import { HISTOGRAM_METRICS, parseMetrics, type HistogramMetric, type ParsedSample } from '@logscope/telemetry';
import { z } from 'zod';
import type { HistogramStore } from '../store/histograms.ts';
import type { SeriesStore } from '../store/series.ts';
import type { TraceStore } from '../store/traces.ts';
import { ScrapeError, type ScrapeSource } from './sources.ts';
import { toSnapshot, type NodeSnapshot } from './snapshot.ts';

export const DEFAULT_SCRAPE_INTERVAL_MS = 1_000;
export const DEFAULT_SCRAPE_TIMEOUT_MS = 800;

export interface TargetStatus {
  name: string;
  nodeId: number | null;
  up: boolean;
  lastError: string | null;
  lastErrorKind: ScrapeError['kind'] | null;
  /** Duration of the last scrape (all three endpoints), ms. */
  durationMs: number;
  lastScrapeMs: number;
  lastSuccessMs: number;
  scrapes: number;
  scrapeErrors: number;
}

/** Per-scrape rates of a node's counters (0 until two good scrapes; from zero after a restart). */
interface Rates {
  appendsPerSec: number;
  bytesPerSec: number;
  /** Bytes a second its log reads took from segments (followers catching up, history reads). */
  segmentReadBytesPerSec: number;
  /** Times a second its segment read budget held a read back. */
  readsThrottledPerSec: number;
  /** Record bytes a second its scrub checked. */
  scrubBytesPerSec: number;
}

const NO_RATES: Rates = { appendsPerSec: 0, bytesPerSec: 0, segmentReadBytesPerSec: 0, readsThrottledPerSec: 0, scrubBytesPerSec: 0 };

interface TargetState {
  source: ScrapeSource;
  status: TargetStatus;
  snapshot: NodeSnapshot | null;
  /** The previous good snapshot's counters, for rates. */
  previous: { tMs: number; records: number; bytes: number; segmentReadBytes: number; readsThrottled: number; scrubBytes: number } | null;
  rates: Rates;
  histogramsSinceMs: number | undefined;
  spansSinceMs: number | undefined;
}

/** A window of a metric this build does not know (a newer node's) is skipped, not an error. */
/** The next turn of the event loop, after the I/O waiting now (setImmediate runs after the poll phase). */
const yieldToIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const knownMetric = (metric: string): metric is HistogramMetric => (HISTOGRAM_METRICS as readonly string[]).includes(metric);
const windowSchema = z.object({
  metric: z.string().max(64),
  partition: z.number().int().nonnegative().nullable(),
  startMs: z.number().finite(),
  endMs: z.number().finite(),
  encoded: z.string().max(1 << 20),
});
const histogramsSchema = z.object({ nodeId: z.number().int().nonnegative(), windows: z.array(windowSchema) });
const spanSchema = z.object({
  traceId: z.string(),
  spanId: z.string(),
  parentSpanId: z.string().nullable(),
  name: z.string(),
  nodeId: z.number(),
  partition: z.number(),
  startUnixNano: z.string(),
  endUnixNano: z.string(),
  durationMicros: z.number(),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});
const spansSchema = z.object({
  nodeId: z.number().int().nonnegative(),
  untilMs: z.number().nullable(),
  traces: z.array(z.object({
    traceId: z.string(),
    totalMicros: z.number(),
    startMs: z.number(),
    partition: z.number(),
    slow: z.boolean(),
    spans: z.array(spanSchema).max(256),
  })),
});

export interface ScraperStores {
  series: SeriesStore;
  histograms: HistogramStore;
  traces: TraceStore;
}

export interface ScraperOptions {
  intervalMs?: number;
  timeoutMs?: number;
  /** Pause between two in-process targets of a tick (default: a quarter of the interval spread over them, at most 50 ms). */
  spreadMs?: number;
  /** Work after each tick (derived views, live subscribers); it must not throw. */
  onTick?: (tMs: number) => void;
  now?: () => number;
}

export class Scraper {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly spreadMs: number;
  private readonly targets: TargetState[];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly now: () => number;
  private readonly onTick: ((tMs: number) => void) | undefined;
  ticks = 0;

  constructor(sources: readonly ScrapeSource[], readonly stores: ScraperStores, options: ScraperOptions = {}) {
    this.intervalMs = options.intervalMs ?? DEFAULT_SCRAPE_INTERVAL_MS;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_SCRAPE_TIMEOUT_MS;
    this.now = options.now ?? Date.now;
    this.onTick = options.onTick;
    this.targets = sources.map((source) => ({
      source,
      status: {
        name: source.name, nodeId: source.nodeId, up: false, lastError: 'not scraped yet', lastErrorKind: null,
        durationMs: 0, lastScrapeMs: 0, lastSuccessMs: 0, scrapes: 0, scrapeErrors: 0,
      },
      snapshot: null,
      previous: null,
      rates: NO_RATES,
      histogramsSinceMs: undefined,
      spansSinceMs: undefined,
    }));
    const inProcess = sources.filter((source) => source.metricsSamples !== undefined).length;
    this.spreadMs = options.spreadMs ?? Math.min(50, Math.floor(this.intervalMs / (4 * Math.max(1, inProcess))));
  }

  start(): void {
    if (this.timer !== null) return;
    const loop = (): void => {
      // Never overlap ticks: a slow tick delays the next rather than piling up.
      if (this.running === null) {
        this.running = this.tick().finally(() => {
          this.running = null;
        });
      }
    };
    loop();
    this.timer = setInterval(loop, this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /**
   * One scrape of every target, then one series tick. Targets over HTTP are scraped in parallel.
   * In-process targets (the embedded nodes) are read on the loop the nodes share, so they go one
   * after another with `spreadMs` between them. Each node's reads take 1–2 ms (in three steps);
   * started together, the five nodes' reads ran as one ~12 ms burst each second that held back
   * every append arriving in it, which doubled the clients' p99 (`npm run bench -- console-tail`).
   */
  async tick(): Promise<void> {
    const scrapes: Promise<void>[] = [];
    for (const t of this.targets) if (t.source.metricsSamples === undefined) scrapes.push(this.scrapeTarget(t));
    let inProcess = 0;
    for (const t of this.targets) {
      if (t.source.metricsSamples === undefined) continue;
      if (inProcess++ > 0) await sleep(this.spreadMs);
      await this.scrapeTarget(t);
    }
    await Promise.all(scrapes);
    const tMs = this.now();
    const series = this.stores.series;
    let appends = 0;
    let bytes = 0;
    for (const t of this.targets) {
      const id = t.status.nodeId;
      if (id === null) continue;
      series.set(`node:${id}:up`, t.status.up ? 1 : 0);
      series.set(`node:${id}:scrape_ms`, t.status.durationMs);
      if (!t.status.up || t.snapshot === null) continue;
      series.set(`node:${id}:appends_per_s`, t.rates.appendsPerSec);
      series.set(`node:${id}:bytes_per_s`, t.rates.bytesPerSec);
      series.set(`node:${id}:records_appended_total`, t.snapshot.recordsAppendedTotal);
      appends += t.rates.appendsPerSec;
      bytes += t.rates.bytesPerSec;
      for (const [p, replicas] of t.snapshot.replicas) {
        // A replica lag is reported only by the partition's leader; a stale second leader loses to the worse figure.
        for (const [r, g] of replicas) {
          const kr = `lag_records:${p}:${r}`;
          const ks = `lag_seconds:${p}:${r}`;
          series.set(kr, Math.max(g.lagRecords, series.latestPending(kr) ?? 0));
          series.set(ks, Math.max(g.lagSeconds, series.latestPending(ks) ?? 0));
        }
      }
    }
    series.set('cluster:appends_per_s', appends);
    series.set('cluster:bytes_per_s', bytes);
    series.commitTick(tMs);
    this.ticks++;
    this.onTick?.(tMs);
  }

  private async scrapeTarget(t: TargetState): Promise<void> {
    const controller = new AbortController();
    const startMs = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new ScrapeError('timeout', `${t.source.name}: no complete answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
    });
    t.status.scrapes++;
    t.status.lastScrapeMs = this.now();
    try {
      await Promise.race([this.scrapeInto(t, controller.signal), timeout]);
      t.status.up = true;
      t.status.lastError = null;
      t.status.lastErrorKind = null;
      t.status.lastSuccessMs = this.now();
    } catch (error) {
      t.status.up = false;
      t.status.scrapeErrors++;
      t.status.lastErrorKind = error instanceof ScrapeError ? error.kind : 'malformed';
      t.status.lastError = error instanceof Error ? error.message : String(error);
      t.previous = null;
    } finally {
      clearTimeout(timer);
      controller.abort(); // releases any request still open after a failure elsewhere
      t.status.durationMs = Math.round((performance.now() - startMs) * 100) / 100;
    }
  }

  private async scrapeInto(t: TargetState, signal: AbortSignal): Promise<void> {
    const source = t.source;
    let samples: string | ParsedSample[];
    let histogramsRaw: unknown;
    let spansRaw: unknown;
    if (source.metricsSamples !== undefined) {
      // In process, every read runs on the loop the embedded nodes share: the samples come straight
      // from the registry (making the text and parsing it back took ~28 ms a node at 256
      // partitions), and the three reads go one at a time with the nodes' I/O let through between.
      samples = await source.metricsSamples(signal);
      await yieldToIo();
      histogramsRaw = await source.histogramsJson(t.histogramsSinceMs, signal);
      await yieldToIo();
      spansRaw = await source.spansJson(t.spansSinceMs, signal);
      await yieldToIo();
    } else {
      [samples, histogramsRaw, spansRaw] = await Promise.all([
        source.metricsText(signal),
        source.histogramsJson(t.histogramsSinceMs, signal),
        source.spansJson(t.spansSinceMs, signal),
      ]);
    }
    let snapshot: NodeSnapshot;
    try {
      snapshot = toSnapshot(typeof samples === 'string' ? parseMetrics(samples) : samples);
    } catch (cause) {
      throw new ScrapeError('malformed', `${t.source.name}/metrics: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    const histograms = histogramsSchema.safeParse(histogramsRaw);
    if (!histograms.success) throw new ScrapeError('malformed', `${t.source.name}/histograms: ${z.prettifyError(histograms.error).slice(0, 300)}`);
    const spans = spansSchema.safeParse(spansRaw);
    if (!spans.success) throw new ScrapeError('malformed', `${t.source.name}/spans: ${z.prettifyError(spans.error).slice(0, 300)}`);
    if (t.source.nodeId !== null && histograms.data.nodeId !== t.source.nodeId) {
      throw new ScrapeError('malformed', `${t.source.name}: answers as node ${histograms.data.nodeId}, expected ${t.source.nodeId}`);
    }

    // Everything checked: file it.
    const nodeId = histograms.data.nodeId;
    t.status.nodeId = nodeId;
    const tMs = this.now();
    if (t.previous !== null && tMs > t.previous.tMs) {
      const dtSec = (tMs - t.previous.tMs) / 1000;
      // A counter going down is a node restart: count from zero rather than report a negative rate.
      // A negative total is a counter the node does not report (yet).
      const perSec = (now: number, before: number): number => (now < 0 ? 0 : (now >= before ? now - Math.max(before, 0) : now) / dtSec);
      t.rates = {
        appendsPerSec: perSec(snapshot.recordsAppendedTotal, t.previous.records),
        bytesPerSec: perSec(snapshot.bytesAppendedTotal, t.previous.bytes),
        segmentReadBytesPerSec: perSec(snapshot.segmentReadBytesTotal, t.previous.segmentReadBytes),
        readsThrottledPerSec: perSec(snapshot.segmentReadsThrottledTotal, t.previous.readsThrottled),
        scrubBytesPerSec: perSec(snapshot.scrubBytesTotal, t.previous.scrubBytes),
      };
    }
    t.previous = { tMs, records: snapshot.recordsAppendedTotal, bytes: snapshot.bytesAppendedTotal, segmentReadBytes: snapshot.segmentReadBytesTotal, readsThrottled: snapshot.segmentReadsThrottledTotal, scrubBytes: snapshot.scrubBytesTotal };
    t.snapshot = snapshot;
    for (const w of histograms.data.windows) {
      if (knownMetric(w.metric)) this.stores.histograms.add(nodeId, w.metric, w.partition, w);
      t.histogramsSinceMs = Math.max(t.histogramsSinceMs ?? 0, w.endMs);
    }
    for (const trace of spans.data.traces) this.stores.traces.add(nodeId, trace);
    if (spans.data.untilMs !== null) t.spansSinceMs = spans.data.untilMs;
  }

  statuses(): TargetStatus[] {
    return this.targets.map((t) => ({ ...t.status }));
  }

  /** Latest good snapshot per node id, with whether its target is up now. */
  snapshots(): ({ nodeId: number; up: boolean; snapshot: NodeSnapshot } & Rates)[] {
    const out = [];
    for (const t of this.targets) {
      if (t.status.nodeId === null || t.snapshot === null) continue;
      out.push({ nodeId: t.status.nodeId, up: t.status.up, snapshot: t.snapshot, ...t.rates });
    }
    return out;
  }
}
