// The partition map as the console's grid reads it, now or at a past moment of the retained
// range (from the map history and the lag series), in one compact shape for thousands of
// partitions. Replica states are replica-state.ts's, so the grid agrees with every other page.

import { summary } from '@logscope/telemetry';
import { isUnderReplicated, RECENT_ELECTION_MS, type PeakLag, type ReplicaState } from './replica-state.ts';
import { knownNodeIds } from './routers/common.ts';
import type { Services } from './services.ts';

/** Per-partition p99 covers this trailing window (partition HDR windows are kept 5 min). */
export const PARTITION_P99_WINDOW_MS = 60_000;

export interface GridReplica {
  node: number;
  state: ReplicaState;
  lagRecords: number | null;
  lagSeconds: number | null;
  /** While lagging: the worst lag of the episode (live map only; null at a past moment). */
  peakLag: PeakLag | null;
}

export interface GridPartition {
  partition: number;
  /** 0 = no leader. */
  leader: number;
  term: number;
  replicas: GridReplica[];
  underReplicated: boolean;
  recentlyElected: boolean;
  elections: number;
  /** Worst follower lag; null when none is known. */
  lagRecordsMax: number | null;
  lagSecondsMax: number | null;
  /** Append p99 over the trailing minute (only when asked for: it merges one histogram per partition). */
  p99Micros: number | null;
  appendSamples: number | null;
}

export interface PartitionGrid {
  /** The moment the map shows; null = now (the newest scrape). */
  atMs: number | null;
  /** The earliest moment the history can show. */
  earliestMs: number | null;
  nowMs: number;
  nodes: { node: number; up: boolean }[];
  partitions: GridPartition[];
}

const maxKnown = (values: (number | null)[]): number | null => values.reduce<number | null>((m, v) => (v === null ? m : Math.max(m ?? 0, v)), null);

function withP99(services: Services, p: number, nowMs: number): { p99Micros: number | null; appendSamples: number | null } {
  const s = summary(services.histograms.merge({ metric: 'append', partition: p }, nowMs - PARTITION_P99_WINDOW_MS, nowMs).histogram);
  return { p99Micros: s.count > 0 ? s.p99Micros : null, appendSamples: s.count };
}

export function partitionGrid(services: Services, options: { atMs?: number | undefined; p99?: boolean | undefined }, nowMs = Date.now()): PartitionGrid {
  const { view, series } = services;
  const nodeIds = knownNodeIds(services);
  const atMs = options.atMs !== undefined && options.atMs < nowMs ? options.atMs : null;
  const p99 = (p: number) => (options.p99 ? withP99(services, p, atMs ?? nowMs) : { p99Micros: null, appendSamples: null });
  if (atMs === null) {
    const live = view.partitions();
    const up = new Map<number, boolean>();
    for (const p of live) for (const r of p.replicaLag) up.set(r.replica, (up.get(r.replica) ?? false) || r.up);
    return {
      atMs: null,
      earliestMs: view.history.earliestMs,
      nowMs,
      nodes: nodeIds.map((node) => ({ node, up: up.get(node) ?? false })),
      partitions: live.map((p) => {
        const replicas = p.replicaLag.map((r) => ({ node: r.replica, state: r.state, lagRecords: r.lagRecords, lagSeconds: r.lagSeconds, peakLag: r.peakLag }));
        const followers = replicas.filter((r) => r.state !== 'leader');
        return {
          partition: p.partition,
          leader: p.leader,
          term: p.term,
          replicas,
          underReplicated: p.underReplicated,
          recentlyElected: p.recentlyElected,
          elections: p.electionCount,
          lagRecordsMax: maxKnown(followers.map((r) => r.lagRecords)),
          lagSecondsMax: maxKnown(followers.map((r) => r.lagSeconds)),
          ...p99(p.partition),
        };
      }),
    };
  }
  // A past moment: the map history for leaders and states, the lag series for the figures.
  const partitions: GridPartition[] = [];
  for (let p = 0; p < view.partitionCount; p++) {
    const rec = view.history.at(p, atMs);
    if (rec === undefined) continue;
    const changes = view.history.range(p, atMs - RECENT_ELECTION_MS, atMs + 1);
    let elections = 0;
    for (let i = 1; i < changes.length; i++) {
      const a = changes[i - 1];
      const b = changes[i];
      if (a !== undefined && b !== undefined && b.leader !== 0 && (b.leader !== a.leader || b.term !== a.term)) elections++;
    }
    const replicas = rec.replicas.map((node, i) => {
      const state = rec.states[i] ?? 'unknown';
      const leads = state === 'leader';
      return {
        node,
        state,
        lagRecords: leads ? 0 : (series.at(`lag_records:${p}:${node}`, atMs) ?? null),
        lagSeconds: leads ? 0 : (series.at(`lag_seconds:${p}:${node}`, atMs) ?? null),
        peakLag: null,
      };
    });
    const followers = replicas.filter((r) => r.state !== 'leader');
    partitions.push({
      partition: p,
      leader: rec.leader,
      term: rec.term,
      replicas,
      underReplicated: isUnderReplicated(rec.leader, rec.states),
      recentlyElected: elections > 0,
      elections,
      lagRecordsMax: maxKnown(followers.map((r) => r.lagRecords)),
      lagSecondsMax: maxKnown(followers.map((r) => r.lagSeconds)),
      ...p99(p),
    });
  }
  return {
    atMs,
    earliestMs: view.history.earliestMs,
    nowMs,
    nodes: nodeIds.map((node) => ({ node, up: (series.at(`node:${node}:up`, atMs) ?? 0) === 1 })),
    partitions,
  };
}

/** Who led the partition over a range: one segment per (leader, term), 0 = no leader. */
export function leaderEpochs(services: Services, partition: number, fromMs: number, toMs: number) {
  const records = services.view.history.range(partition, fromMs, toMs);
  const epochs: { fromMs: number; toMs: number; leader: number; term: number }[] = [];
  for (const r of records) {
    const last = epochs[epochs.length - 1];
    if (last !== undefined && last.leader === r.leader && last.term === r.term) continue;
    const startMs = Math.max(fromMs, r.tMs);
    if (last !== undefined) last.toMs = startMs;
    epochs.push({ fromMs: startMs, toMs, leader: r.leader, term: r.term });
  }
  return epochs;
}
