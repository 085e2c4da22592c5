// cluster.overview: the figures the Overview page and its live subscription show.

import { summary } from '@logscope/telemetry';
import { knownNodeIds } from './routers/common.ts';
import type { Services } from './services.ts';

/** Latency figures of the overview cover this trailing window. */
export const OVERVIEW_LATENCY_WINDOW_MS = 60_000;

export type AlertKind = 'node-down' | 'partition-leaderless' | 'under-replicated' | 'latency-slo' | 'scrape-target-down' | 'disk-full';

export interface Alert {
  kind: AlertKind;
  severity: 'critical' | 'warning';
  message: string;
  /** The console page that explains it. */
  page: 'overview' | 'partitions' | 'replication' | 'latency';
  node?: number;
  partition?: number;
}

export function computeOverview(services: Services, nowMs = Date.now()) {
  const { scraper, view, histograms } = services;
  const statuses = scraper.statuses();
  const snapshots = scraper.snapshots();
  const health = services.cluster?.health() ?? [];
  const partitions = view.partitions();
  const nodes = knownNodeIds(services).map((nodeId) => {
    const status = statuses.find((s) => s.nodeId === nodeId);
    const snap = snapshots.find((s) => s.nodeId === nodeId);
    const h = health.find((x) => x.node === nodeId);
    const up = h !== undefined ? h.up && (status?.up ?? false) : (status?.up ?? false);
    return {
      nodeId,
      up,
      downReason: h?.reason ?? (status?.up === false ? status.lastError : null),
      target: status?.name ?? null,
      scrapeUp: status?.up ?? false,
      scrapeDurationMs: status?.durationMs ?? 0,
      lastScrapeError: status?.lastError ?? null,
      partitionsLed: partitions.filter((p) => p.leader === nodeId).length,
      appendsPerSec: up ? (snap?.appendsPerSec ?? 0) : 0,
      bytesPerSec: up ? (snap?.bytesPerSec ?? 0) : 0,
      diskUsedBytes: snap?.snapshot.diskUsedBytes ?? 0,
      diskFreeBytes: snap?.snapshot.diskFreeBytes ?? -1,
      diskFull: up && (snap?.snapshot.diskFull ?? false),
    };
  });
  const latency = summary(histograms.merge({ metric: 'append' }, nowMs - OVERVIEW_LATENCY_WINDOW_MS, nowMs).histogram);
  const underReplicated = partitions.filter((p) => p.underReplicated).map((p) => p.partition);
  const leaderless = partitions.filter((p) => p.leader === 0).map((p) => p.partition);

  const alerts: Alert[] = [];
  for (const n of nodes) {
    if (!n.up) alerts.push({ kind: 'node-down', severity: 'critical', message: `node ${n.nodeId} is down${n.downReason ? ` (${n.downReason})` : ''}`, page: 'overview', node: n.nodeId });
    if (n.diskFull) alerts.push({ kind: 'disk-full', severity: 'critical', message: `node ${n.nodeId}: disk full (${n.diskFreeBytes} bytes free); its writes wait and resume by themselves once space is freed`, page: 'overview', node: n.nodeId });
  }
  for (const s of statuses) {
    if (!s.up) alerts.push({ kind: 'scrape-target-down', severity: 'warning', message: `scrape target ${s.name} is down: ${s.lastError ?? 'unknown error'}`, page: 'overview', ...(s.nodeId !== null ? { node: s.nodeId } : {}) });
  }
  for (const p of leaderless) alerts.push({ kind: 'partition-leaderless', severity: 'critical', message: `partition ${p} has no leader`, page: 'partitions', partition: p });
  if (underReplicated.length > 0) {
    alerts.push({ kind: 'under-replicated', severity: 'warning', message: `${underReplicated.length} partition(s) under-replicated: ${underReplicated.slice(0, 16).join(', ')}${underReplicated.length > 16 ? '…' : ''}`, page: 'replication' });
  }
  if (latency.count > 0 && latency.p99Micros > services.sloP99Ms * 1000) {
    alerts.push({ kind: 'latency-slo', severity: 'warning', message: `append p99 ${(latency.p99Micros / 1000).toFixed(1)} ms over the last minute exceeds the ${services.sloP99Ms} ms SLO`, page: 'latency' });
  }
  return {
    nowMs,
    nodes,
    partitionCount: partitions.length,
    leaderlessPartitions: leaderless,
    underReplicatedPartitions: underReplicated,
    appendsPerSec: nodes.reduce((sum, n) => sum + n.appendsPerSec, 0),
    bytesPerSec: nodes.reduce((sum, n) => sum + n.bytesPerSec, 0),
    appendLatency: {
      windowMs: OVERVIEW_LATENCY_WINDOW_MS,
      count: latency.count,
      p50Micros: latency.p50Micros,
      p99Micros: latency.p99Micros,
      p999Micros: latency.p999Micros,
      maxMicros: latency.maxMicros,
    },
    sloP99Ms: services.sloP99Ms,
    alerts,
    activeFaults: services.cluster ? [...services.cluster.activeFaults()] : [],
    load: services.load?.status() ?? null,
    mode: services.cluster !== null ? ('embedded' as const) : ('attached' as const),
  };
}

export type Overview = ReturnType<typeof computeOverview>;
