import { describe, expect, it } from 'vitest';
import { adaptHeatmap, adaptPartitionDetail, culpritOf, heatmapColumns, heldLagText, HEATMAP_BUCKETS_MS, problemsOf, roleOf } from './model.ts';
import { pollIntervalFor, SETTLE_MS, LIVE_POLL_MS } from './api.ts';
import { staleMessage } from './format.ts';

const span = (id: string, parent: string | null, name: string, startUs: number, endUs: number, attributes = {}) => ({
  spanId: id,
  parentSpanId: parent,
  name,
  nodeId: 1,
  startUnixNano: String(BigInt(startUs) * 1000n),
  endUnixNano: String(BigInt(endUs) * 1000n),
  durationMicros: endUs - startUs,
  attributes,
});

describe('trace culprit', () => {
  it('a follower slower than the quorum did not delay the ack: the quorum follower is the culprit', () => {
    const spans = [
      span('r', null, 'append', 0, 50_000),
      span('p', 'r', 'leader.persist', 0, 1_000),
      span('x', 'r', 'replicate', 0, 40_000),
      span('f2', 'x', 'follower.append+fsync', 0, 40_000, { 'replica.id': 2 }),
      span('f3', 'x', 'follower.append+fsync', 0, 90_000, { 'replica.id': 3 }),
      span('c', 'r', 'commit', 40_000, 49_000),
      span('a', 'r', 'ack', 49_000, 50_000),
    ];
    expect(culpritOf(spans)?.spanId).toBe('f2');
  });

  it('a slow commit step is named when it dominates', () => {
    const spans = [span('r', null, 'append', 0, 100_000), span('p', 'r', 'leader.persist', 0, 1_000), span('c', 'r', 'commit', 1_000, 99_000)];
    expect(culpritOf(spans)?.name).toBe('commit');
  });
});

describe('heatmap from exact spectra', () => {
  it('spreads each column\'s count over the log buckets without losing writes', () => {
    const columns = heatmapColumns({ fromMs: 0, toMs: 60_000 });
    expect(columns.length).toBe(6);
    const hist = {
      count: 1000,
      spectrum: [
        { percentile: 0, valueMicros: 300 },
        { percentile: 50, valueMicros: 800 },
        { percentile: 99, valueMicros: 4_000 },
        { percentile: 100, valueMicros: 30_000 },
      ],
    };
    const empty = { count: 0, spectrum: [] };
    // Only the fields the adapter reads are given; the rest of the router output is irrelevant here.
    type H = Parameters<typeof adaptHeatmap>[1][number];
    const m = adaptHeatmap(columns, [hist as unknown as H, empty as unknown as H]);
    expect(m.timesMs).toEqual(columns.map((c) => c.fromMs));
    expect(m.bucketsMs).toBe(HEATMAP_BUCKETS_MS);
    expect(m.cells.every((c) => c[0] === 0)).toBe(true);
    expect(m.cells.reduce((s, c) => s + c[2], 0)).toBe(1000);
    const at = (ms: number) => m.cells.find((c) => c[1] === HEATMAP_BUCKETS_MS.indexOf(ms))?.[2];
    expect(at(1)).toBe(500); // p0..p50 ≤ 0.8 ms
    expect(at(5)).toBe(490); // p50..p99 ≤ 4 ms
    expect(at(50)).toBe(10); // the tail up to the 30 ms max
  });
});

describe('replica roles and ordering', () => {
  it('the console names the server\'s one replica state and derives problems from it', () => {
    expect(roleOf({ state: 'offline' })).toBe('offline');
    expect(roleOf({ state: 'in-sync' })).toBe('follower');
    expect(roleOf({ state: 'unknown' })).toBe('unknown');
    const p = { leader: 2, underReplicated: true, recentlyElected: false, replicas: [{ state: 'leader' as const }, { state: 'offline' as const }, { state: 'in-sync' as const }] };
    expect(problemsOf(p)).toEqual(['under-replicated']);
    expect(problemsOf({ ...p, leader: 0, underReplicated: false, recentlyElected: true, replicas: [{ state: 'lagging' as const }] })).toEqual(['no leader', 'lagging', 're-elected']);
    expect(problemsOf({ ...p, underReplicated: false, replicas: [{ state: 'unknown' as const }] })).toEqual([]);
  });

  it('a lagging follower with no lag now is never shown as "lagging, 0 records": the held state gives its reason', () => {
    const lagging = { node: 2, role: 'lagging' as const, lagRecords: 0, lagSeconds: 0 };
    expect(heldLagText({ ...lagging, peakLag: { records: 7, seconds: 4.25 } })).toBe('caught up; was 7 records / 4.250 s behind (in sync again after 5 s without lag)');
    expect(heldLagText({ ...lagging, peakLag: { records: 0, seconds: 0 } })).toMatch(/has not heard from it/);
    expect(heldLagText({ ...lagging, lagRecords: 3, peakLag: { records: 3, seconds: 1 } })).toBeNull();
    expect(heldLagText({ ...lagging, role: 'follower', peakLag: null })).toBeNull();
  });
});

describe('partition detail', () => {
  it('carries each replica\'s own log start and end offsets beside its state, unknown ones as null', () => {
    const replica = (r: number, logStartOffset: number | null, logEndOffset: number | null) => ({
      replica: r, isLeader: r === 1, state: r === 1 ? ('leader' as const) : ('in-sync' as const), inSync: true, lagRecords: 0, lagSeconds: 0, peakLag: null, logStartOffset, logEndOffset, up: logEndOffset !== null,
    });
    const d = adaptPartitionDetail({
      partition: 4, leader: 1, replicas: [1, 2, 3], inSync: [1, 2, 3], term: 2, commitIndex: 80, highWatermark: 700, underReplicated: false,
      recentlyElected: false, electionCount: 0, elections: [],
      replicaLag: [replica(1, 512, 700), replica(2, 640, 700), replica(3, null, null)],
    });
    expect(d.replicas.map((r) => [r.node, r.role, r.logStartOffset, r.logEndOffset])).toEqual([[1, 'leader', 512, 700], [2, 'follower', 640, 700], [3, 'follower', null, null]]);
  });
});

describe('live refresh', () => {
  it('live views refresh every second; a paused range refreshes until settled, then stops', () => {
    expect(pollIntervalFor({ windowMs: 60_000, fixed: null })).toBe(LIVE_POLL_MS);
    const now = 1_000_000;
    expect(pollIntervalFor({ windowMs: 60_000, fixed: { fromMs: now - 60_000, toMs: now - 1_000 } }, now)).toBe(LIVE_POLL_MS);
    expect(pollIntervalFor({ windowMs: 60_000, fixed: { fromMs: 0, toMs: now - SETTLE_MS } }, now)).toBe(false);
  });

  it('the stale banner speaks only when scraping stopped or the server is unreachable', () => {
    expect(staleMessage(1_000, 2_000, false)).toBeNull();
    expect(staleMessage(null, 2_000, false)).toBeNull();
    expect(staleMessage(1_000, 20_000, false)).toMatch(/19 s ago/);
    expect(staleMessage(1_000, 2_000, true)).toMatch(/cannot reach the server/);
  });
});
