import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from '../test-helpers.ts';

describe('routers against a real embedded cluster', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ partitionCount: 6, ratePerSec: 100 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('partitions.map matches the engine: leaders, replicas, high watermark', async () => {
    const map = await eventually(async () => {
      const m = await h.caller().partitions.map();
      const agrees = m.partitions.length === 6 && m.partitions.every((p) => p.leader === h.cluster.leaderOf(p.partition));
      return agrees ? m : undefined;
    }, 8_000, 'scraped leaders to match the engine');
    for (const p of map.partitions) {
      expect(p.replicas).toEqual(h.cluster.replicasOf(p.partition));
      expect(p.inSync).toContain(p.leader);
      expect(p.replicaLag.map((r) => r.replica)).toEqual(p.replicas);
    }
    // After the load stops, the scraped high watermark equals the leader's own.
    await eventually(() => ((h.app.services.load?.status().acked ?? 0) >= 100 ? true : undefined), 8_000, 'load to write');
    await h.operator().load.stop();
    await eventually(async () => {
      const p0 = await h.caller().partitions.get({ partition: 0 });
      const leader = h.cluster.node(p0.leader)?.replica(0);
      return leader !== undefined && p0.highWatermark === leader.hw && p0.highWatermark > 0 ? true : undefined;
    }, 8_000, 'high watermark to match the engine');
    const p0 = await h.caller().partitions.get({ partition: 0 });
    expect(p0.elections.length).toBeGreaterThan(0);
    expect(p0.term).toBe(h.cluster.node(p0.leader)?.replica(0)?.raft.status().term);
    await h.operator().load.start({});
  });

  it('cluster.overview shows every node up, partitions led and live rates', async () => {
    const o = await eventually(async () => {
      const v = await h.caller().cluster.overview();
      return v.appendsPerSec > 0 && v.appendLatency.count > 0 ? v : undefined;
    }, 8_000, 'rates');
    expect(o.nodes.map((n) => n.nodeId)).toEqual([1, 2, 3]);
    expect(o.nodes.every((n) => n.up)).toBe(true);
    expect(o.nodes.reduce((s, n) => s + n.partitionsLed, 0)).toBe(6);
    expect(o.mode).toBe('embedded');
  });

  it('latency.histogram counts exactly what the load generator recorded', async () => {
    await h.operator().load.stop();
    const load = h.app.services.load!;
    // Wait until every acknowledged write's latency sits in a scraped closed window.
    const result = await eventually(async () => {
      const r = await h.caller().latency.histogram({ metric: 'client', range: { lastMs: 600_000 } });
      return r.count === load.status().acked ? r : undefined;
    }, 8_000, 'client histogram to hold every ack');
    expect(result.spectrum.map((p) => p.percentile)).toEqual([0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100]);
    expect(result.summary.maxMicros).toBeGreaterThanOrEqual(result.summary.p50Micros);
    const append = await h.caller().latency.histogram({ metric: 'append', range: { lastMs: 600_000 } });
    expect(append.count).toBeGreaterThan(0);
    const perNode = await Promise.all([1, 2, 3].map((node) => h.caller().latency.histogram({ metric: 'append', node, range: { lastMs: 600_000 } })));
    expect(perNode.reduce((s, r) => s + r.count, 0)).toBe(append.count);
    const series = await h.caller().latency.series({ metric: 'append', range: { lastMs: 60_000 }, resolutionMs: 1_000 });
    expect(series.points.reduce((s, p) => s + p.count, 0)).toBeLessThanOrEqual(append.count);
    await h.operator().load.start({});
  });

  it('traces.slowest lists stored writes and traces.get returns their spans', async () => {
    const slowest = await eventually(async () => {
      const t = await h.caller().traces.slowest({ range: { lastMs: 600_000 }, limit: 5 });
      return t.length > 0 ? t : undefined;
    }, 8_000, 'traces');
    const first = slowest[0]!;
    const trace = await h.caller().traces.get({ traceId: first.traceId });
    expect(trace.spans.length).toBe(first.spanCount);
    expect(trace.spans.some((s) => s.name === 'append')).toBe(true);
    await expect(h.caller().traces.get({ traceId: 'f'.repeat(32) })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a crashed node is shown down with an alert, and comes back', async () => {
    await h.operator().faults.crash({ node: 3 });
    const down = await eventually(async () => {
      const o = await h.caller().cluster.overview();
      return o.nodes.find((n) => n.nodeId === 3)?.up === false ? o : undefined;
    }, 8_000, 'node 3 down');
    expect(down.alerts.some((a) => a.kind === 'node-down' && a.node === 3 && a.page === 'overview')).toBe(true);
    expect(down.activeFaults).toContainEqual({ kind: 'crash', node: 3 });
    const lag = await h.caller().replication.lag({ range: { lastMs: 60_000 } });
    expect(lag.replicas.length).toBeGreaterThan(0);
    await h.operator().faults.healAll();
    await eventually(async () => ((await h.caller().cluster.overview()).nodes.every((n) => n.up) ? true : undefined), 8_000, 'node 3 back');
  });

  it('unknown node or partition is NOT_FOUND, bad input names the field', async () => {
    await expect(h.operator().faults.crash({ node: 99 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(h.caller().partitions.get({ partition: 6 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(h.operator().faults.transferLeadership({ partition: 60, to: 1 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const bad = await h.operator().faults.slowFsync({ node: 1, delayMs: -5 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(TRPCError);
    expect((bad as TRPCError).code).toBe('BAD_REQUEST');
    expect((bad as TRPCError).message).toMatch(/delayMs/);
    // @ts-expect-error: the wrong type on purpose
    const wrongType = await h.caller().latency.histogram({ metric: 'p99' }).catch((e: unknown) => e);
    expect((wrongType as TRPCError).message).toMatch(/metric/);
  });
});
