import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NodeTelemetry, serveTelemetry, type TelemetryServer } from '@logscope/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistogramStore } from '../store/histograms.ts';
import { SeriesStore } from '../store/series.ts';
import { TraceStore } from '../store/traces.ts';
import { Scraper } from './scraper.ts';
import { httpSource, inProcessSource } from './sources.ts';

// Long enough that the good target answers in time on a loaded machine; the hanging one never does.
const TIMEOUT_MS = 1_000;

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('Scraper over real HTTP targets', () => {
  let good: TelemetryServer;
  let telemetry: NodeTelemetry;
  let hang: { server: Server; url: string };
  let garbage: { server: Server; url: string };
  let badHistograms: { server: Server; url: string };
  let downUrl: string;
  let scraper: Scraper;
  const stores = { series: new SeriesStore(60), histograms: new HistogramStore(), traces: new TraceStore() };

  beforeAll(async () => {
    telemetry = new NodeTelemetry({ nodeId: 7, nowMs: Date.now() - 1_000 });
    telemetry.recordAppended(10, 2_560);
    for (let i = 1; i <= 100; i++) telemetry.recordAppendLatency(i / 1000, 3);
    telemetry.setPartitionState(3, { leaderId: 7, isLeader: true, term: 5, commitIndex: 40, highWatermark: 33, logEndOffset: 33, logStartOffset: 21 });
    telemetry.setReplicaState(3, 8, { lagRecords: 12, lagSeconds: 0.5, inSync: false });
    telemetry.setJournalIndexBytes(212_992);
    telemetry.setCatchUp(1_048_576, 3, 65_536);
    telemetry.setScrub(524_288, 2);
    telemetry.recordRetentionDeleted(3 << 20);
    telemetry.recordSnapshotSent();
    telemetry.recordEventLoopDelay(0.0004);
    telemetry.recordEventLoopDelay(0.048);
    telemetry.rotate(Date.now());
    good = await serveTelemetry(telemetry, { port: 0 });
    // Accepts and never answers.
    hang = await listen(() => undefined);
    garbage = await listen((req, res) => {
      if (req.url?.startsWith('/metrics')) res.end('logscope_up 1\nthis is { not prometheus\n');
      else res.end(JSON.stringify({ nodeId: 9, windows: [], traces: [], untilMs: null }));
    });
    badHistograms = await listen((req, res) => {
      if (req.url?.startsWith('/metrics')) res.end('logscope_node_up 1\n');
      else if (req.url?.startsWith('/histograms')) res.end('{"nodeId": "x"');
      else res.end(JSON.stringify({ nodeId: 10, untilMs: null, traces: [] }));
    });
    const closed = await listen(() => undefined);
    downUrl = closed.url;
    await new Promise((resolve) => closed.server.close(resolve));
    scraper = new Scraper(
      [`http://127.0.0.1:${good.port}`, hang.url, garbage.url, badHistograms.url, downUrl].map(httpSource),
      stores,
      { timeoutMs: TIMEOUT_MS },
    );
  });

  afterAll(async () => {
    await scraper.stop();
    await good.close();
    for (const s of [hang, garbage, badHistograms]) {
      s.server.closeAllConnections();
      await new Promise((resolve) => s.server.close(resolve));
    }
  });

  it('marks down, hanging and garbage targets and keeps the good one', async () => {
    // The hanging target never answers: tick() returns only because it is cut at the timeout.
    await scraper.tick();
    const [ok, hung, junk, badJson, down] = scraper.statuses();
    expect(ok).toMatchObject({ up: true, nodeId: 7, lastError: null, scrapeErrors: 0 });
    expect(hung).toMatchObject({ up: false, lastErrorKind: 'timeout', scrapeErrors: 1 });
    expect(hung?.durationMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(junk).toMatchObject({ up: false, lastErrorKind: 'malformed' });
    expect(junk?.lastError).toMatch(/line 2/);
    expect(badJson).toMatchObject({ up: false, lastErrorKind: 'malformed' });
    expect(down).toMatchObject({ up: false, lastErrorKind: 'down' });

    // The good target's figures landed in the stores, exactly.
    const snap = scraper.snapshots().find((s) => s.nodeId === 7);
    expect(snap?.snapshot.partitions.get(3)).toMatchObject({ leaderId: 7, isLeader: true, term: 5, commitIndex: 40, highWatermark: 33, logEndOffset: 33, logStartOffset: 21 });
    expect(snap?.snapshot.replicas.get(3)?.get(8)).toEqual({ lagRecords: 12, lagSeconds: 0.5, inSync: false });
    expect(snap?.snapshot.journalIndexBytes).toBe(212_992);
    expect(snap?.snapshot).toMatchObject({ segmentReadBytesTotal: 1_048_576, segmentReadsThrottledTotal: 3, replicationInflightBytes: 65_536, scrubBytesTotal: 524_288, scrubPassesTotal: 2, retentionDeletedBytesTotal: 3 << 20, snapshotsSentTotal: 1 });
    expect(stores.series.latest('lag_records:3:8')).toBe(12);
    const merged = stores.histograms.merge({ metric: 'append', partition: 3 }, 0, Date.now() + 1);
    expect(merged.histogram.totalCount).toBe(100);
    expect(stores.histograms.merge({ metric: 'append' }, 0, Date.now() + 1).histogram.totalCount).toBe(100);
    // The node's event-loop stalls too: its 48 ms tick is there, to tell its own stalls from the disk's.
    const loop = stores.histograms.merge({ metric: 'event_loop_delay', node: 7 }, 0, Date.now() + 1).histogram;
    expect(loop.totalCount).toBe(2);
    expect(Math.abs(loop.maxValue - 48_000)).toBeLessThanOrEqual(48);
  });

  it('skips a window of a metric it does not know (a newer node\'s) and files the rest', async () => {
    const source = new NodeTelemetry({ nodeId: 11, nowMs: Date.now() - 1_000 });
    source.recordFsync(0.002);
    source.rotate(Date.now());
    const fsync = source.histogramsJson().windows.find((w) => w.metric === 'fsync')!;
    const newer = await listen((req, res) => {
      if (req.url?.startsWith('/metrics')) res.end('logscope_node_up 1\n');
      else if (req.url?.startsWith('/histograms')) res.end(JSON.stringify({ nodeId: 11, windows: [{ ...fsync, metric: 'some_future_metric' }, fsync] }));
      else res.end(JSON.stringify({ nodeId: 11, untilMs: null, traces: [] }));
    });
    const own = { series: new SeriesStore(60), histograms: new HistogramStore(), traces: new TraceStore() };
    const s = new Scraper([httpSource(newer.url)], own, { timeoutMs: TIMEOUT_MS });
    try {
      await s.tick();
      expect(s.statuses()[0]).toMatchObject({ up: true, nodeId: 11, lastError: null });
      expect(own.histograms.merge({ metric: 'fsync', node: 11 }, 0, Date.now() + 1).histogram.totalCount).toBe(1);
    } finally {
      await s.stop();
      newer.server.closeAllConnections();
      await new Promise((resolve) => newer.server.close(resolve));
    }
  });

  it('counts each failing scrape and recovers nothing it should not', async () => {
    telemetry.setCatchUp(3 * 1_048_576, 7, 0); // 2 MiB and 4 throttled reads more by the next scrape
    telemetry.setScrub(524_288 + 4 * 1_048_576, 3); // and 4 MiB more scrubbed
    await scraper.tick();
    // Rates over the same interval: their ratio is the counters' (both from the same two scrapes).
    const rates = scraper.snapshots().find((s) => s.nodeId === 7);
    expect(rates?.segmentReadBytesPerSec).toBeGreaterThan(0);
    expect((rates?.readsThrottledPerSec ?? 0) / (rates?.segmentReadBytesPerSec ?? 1)).toBeCloseTo(4 / 2_097_152, 12);
    expect((rates?.scrubBytesPerSec ?? 0) / (rates?.segmentReadBytesPerSec ?? 1)).toBeCloseTo(2, 12);
    const statuses = scraper.statuses();
    expect(statuses.map((s) => s.scrapeErrors)).toEqual([0, 2, 2, 2, 2]);
    // Windows are asked with `since`: a second scrape adds nothing twice.
    expect(stores.histograms.merge({ metric: 'append' }, 0, Date.now() + 1).histogram.totalCount).toBe(100);
  });
});

describe('Scraper of in-process targets (nodes sharing the loop they run on)', () => {
  it('reads one node at a time, with a pause between nodes, so their reads never form one burst', async () => {
    const events: { node: number; step: string; atMs: number }[] = [];
    const sources = [1, 2, 3].map((nodeId) => {
      const telemetry = new NodeTelemetry({ nodeId, nowMs: Date.now() - 1_000 });
      telemetry.recordAppended(1, 256);
      const source = inProcessSource(nodeId, telemetry);
      const mark = (step: string): void => void events.push({ node: nodeId, step, atMs: performance.now() });
      return {
        ...source,
        async metricsSamples(signal: AbortSignal) {
          mark('samples');
          return source.metricsSamples!(signal);
        },
        async spansJson(sinceMs: number | undefined, signal: AbortSignal) {
          const spans = await source.spansJson(sinceMs, signal);
          mark('spans');
          return spans;
        },
      };
    });
    const s = new Scraper(sources, { series: new SeriesStore(60), histograms: new HistogramStore(), traces: new TraceStore() }, { timeoutMs: TIMEOUT_MS, spreadMs: 40 });
    await s.tick();
    expect(s.statuses().map((x) => [x.nodeId, x.up])).toEqual([[1, true], [2, true], [3, true]]);
    expect(events.map((e) => `${e.node}:${e.step}`)).toEqual(['1:samples', '1:spans', '2:samples', '2:spans', '3:samples', '3:spans']);
    // The next node starts only after a pause (a timer: the nodes' own work runs in it).
    for (const k of [2, 4]) expect(events[k]!.atMs - events[k - 1]!.atMs).toBeGreaterThanOrEqual(35);
  });
});
