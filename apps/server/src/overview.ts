// cluster.overview: the figures the Overview page and its live subscription show.

import { summary } from '@logscope/telemetry';
import { AUTO_RESTART_WINDOW_MS, AUTO_RESTARTS_MAX } from '../../../packages/log-cluster/src/auto-restart.ts';
import { drillEngineOf } from './drills/registry.ts';
import { faultControlOf } from './faults/control.ts';
import { knownNodeIds } from './routers/common.ts';
import type { Services } from './services.ts';

/** Latency figures of the overview cover this trailing window. */
export const OVERVIEW_LATENCY_WINDOW_MS = 60_000;

export type AlertKind = 'node-down' | 'partition-leaderless' | 'under-replicated' | 'latency-slo' | 'scrape-target-down' | 'disk-full' | 'restarted-by-itself' | 'faulty-tail' | 'disk-went-back';

export interface Alert {
  kind: AlertKind;
  severity: 'critical' | 'warning';
  message: string;
  /** The console page that explains it. */
  page: 'overview' | 'partitions' | 'replication' | 'latency';
  node?: number;
  partition?: number;
  /** Set when a running drill or a fault injected from the console explains the alert. */
  cause?: string;
}

/** What the operator is doing to the cluster right now, per node ('*' = everywhere), to tag alerts with. */
function causes(services: Services): Map<number | '*', string> {
  const out = new Map<number | '*', string>();
  const drill = drillEngineOf(services)?.current() ?? null;
  if (drill !== null) {
    const label = `drill ${drill.title}`;
    const targets = Object.values(drill.bindings);
    for (const n of targets) out.set(n, label);
    out.set('*', label);
  }
  for (const f of faultControlOf(services)?.active() ?? []) {
    const label = `injected fault: ${f.description}`;
    const a = f.action;
    if ('node' in a) out.set(a.node, label);
    else if ('source' in a) {
      out.set(a.source, label);
      out.set(a.target, label);
    }
    if (!out.has('*')) out.set('*', label);
  }
  return out;
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
      faultyTailPartitions: up ? Math.max(0, snap?.snapshot.faultyTailPartitions ?? 0) : 0,
      diskRolledBackAtMs: snap?.snapshot.diskRolledBackAtMs ?? 0,
    };
  });
  const latency = summary(histograms.merge({ metric: 'append' }, nowMs - OVERVIEW_LATENCY_WINDOW_MS, nowMs).histogram);
  const underReplicated = partitions.filter((p) => p.underReplicated).map((p) => p.partition);
  const leaderless = partitions.filter((p) => p.leader === 0).map((p) => p.partition);

  const alerts: Alert[] = [];
  const downNodes = new Set<number>();
  for (const n of nodes) {
    // Rare and brief (a peer or the leader sends the records within a second or so): while it lasts, the
    // records it lost have one copy fewer, and a fault on the other copies loses them; lasting, it is stuck.
    if (n.faultyTailPartitions > 0) alerts.push({ kind: 'faulty-tail', severity: 'warning', message: `node ${n.nodeId}: ${n.faultyTailPartitions} replica(s) lost acknowledged records to a storage fault and wait to get them back from a peer or their leader; until then those records have one copy fewer`, page: 'overview', node: n.nodeId });
    // Over within a second (its leaders catch it up), so it stays up for the auto-restart window: an
    // older copy of a disk put back is someone's doing (a restore, a snapshot rolled back) to find.
    const wentBackMsAgo = nowMs - n.diskRolledBackAtMs;
    if (n.diskRolledBackAtMs > 0 && wentBackMsAgo < AUTO_RESTART_WINDOW_MS) {
      const minutes = Math.max(1, Math.round(wentBackMsAgo / 60_000));
      alerts.push({ kind: 'disk-went-back', severity: 'warning', message: `node ${n.nodeId} came back ${wentBackMsAgo < 60_000 ? 'less than a minute' : `${minutes} min`} ago with less on its disk than it had told its peers (an older copy put back: a restored backup or VM snapshot, a volume that lost its last writes); it abstained from votes until its leaders caught it up. Records it acknowledged since that copy had one copy fewer meanwhile`, page: 'overview', node: n.nodeId });
    }
    if (n.diskFull) alerts.push({ kind: 'disk-full', severity: 'critical', message: `node ${n.nodeId}: disk full (${n.diskFreeBytes} bytes free); its writes wait and resume by themselves once space is freed`, page: 'overview', node: n.nodeId });
    if (n.up) continue;
    downNodes.add(n.nodeId);
    // One alert per down node: its scrape target failing is the same event, not a second alert.
    const scrape = statuses.find((s) => s.nodeId === n.nodeId && !s.up);
    const alsoScrape = scrape !== undefined && n.downReason !== scrape.lastError ? `; its scrape target ${scrape.name} is down too` : '';
    alerts.push({ kind: 'node-down', severity: 'critical', message: `node ${n.nodeId} is down${n.downReason ? ` (${n.downReason})` : ''}${alsoScrape}`, page: 'overview', node: n.nodeId });
  }
  // A node that came back by itself after a corrupt record runs, so nothing else alerts: its disk
  // may still be failing, and past AUTO_RESTARTS_MAX in the window the next one stays down.
  const recentRestarts = (services.cluster?.autoRestarts?.() ?? []).filter((e) => e.restart && e.restarted !== null && e.restarted.error === null && nowMs - e.stoppedAtMs < AUTO_RESTART_WINDOW_MS);
  for (const node of new Set(recentRestarts.map((e) => e.node))) {
    if (downNodes.has(node)) continue;
    const mine = recentRestarts.filter((e) => e.node === node);
    const last = mine[mine.length - 1];
    if (last === undefined) continue;
    const minutes = AUTO_RESTART_WINDOW_MS / 60_000;
    alerts.push({
      kind: 'restarted-by-itself',
      severity: 'warning',
      message: `node ${node} restarted by itself ${mine.length} time(s) in the last ${minutes} min after it stopped on ${last.reason}; its disk may be failing (after ${AUTO_RESTARTS_MAX} in ${minutes} min it stays down)`,
      // The Latency page has its time down on the charts and its scrub in the node table.
      page: 'latency',
      node,
    });
  }
  for (const s of statuses) {
    if (!s.up && (s.nodeId === null || !downNodes.has(s.nodeId))) alerts.push({ kind: 'scrape-target-down', severity: 'warning', message: `scrape target ${s.name} is down: ${s.lastError ?? 'unknown error'}`, page: 'overview', ...(s.nodeId !== null ? { node: s.nodeId } : {}) });
  }
  for (const p of leaderless) alerts.push({ kind: 'partition-leaderless', severity: 'critical', message: `partition ${p} has no leader`, page: 'partitions', partition: p });
  if (underReplicated.length > 0) {
    alerts.push({ kind: 'under-replicated', severity: 'warning', message: `${underReplicated.length} partition(s) under-replicated: ${underReplicated.slice(0, 16).join(', ')}${underReplicated.length > 16 ? '…' : ''}`, page: 'replication' });
  }
  if (latency.count > 0 && latency.p99Micros > services.sloP99Ms * 1000) {
    alerts.push({ kind: 'latency-slo', severity: 'warning', message: `append p99 ${(latency.p99Micros / 1000).toFixed(1)} ms over the last minute exceeds the ${services.sloP99Ms} ms SLO`, page: 'latency' });
  }
  // Alerts a drill or an injected fault explains say so, so nobody pages for a rehearsal.
  const why = causes(services);
  for (const a of alerts) {
    const cause = (a.node !== undefined ? why.get(a.node) : undefined) ?? why.get('*');
    if (cause === undefined) continue;
    a.cause = cause;
    a.message += ` — expected: ${cause}`;
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
