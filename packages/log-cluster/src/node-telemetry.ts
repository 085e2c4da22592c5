import { NodeTelemetry, newSpanId, newTraceId, type Span } from '@logscope/telemetry';
import type { WallClock } from './clock.ts';
import type { LogNode, NodeObserver } from './node.ts';
import type { WriteTiming } from './replica.ts';

const msToUnixNano = (ms: number): string => (BigInt(Math.round(ms * 1000)) * 1000n).toString();

/**
 * Connects a node to its telemetry: the observer records latencies, counters and spans as the
 * node works; the collect hook refreshes partition and lag gauges from the node's state at
 * each scrape (cheap: a few hundred gauges).
 */
export function nodeObserver(telemetry: NodeTelemetry, wallClock: WallClock, monotonicNow: () => number, random: () => number): NodeObserver {
  return {
    appendCommitted(partition, latencySeconds, records, bytes, timing) {
      telemetry.recordAppendLatency(latencySeconds, partition);
      telemetry.recordAppended(records, bytes);
      const nowWallMs = wallClock();
      const nowMonotonicMs = monotonicNow();
      telemetry.offerTrace(latencySeconds * 1e6, nowWallMs, () => writeSpans(telemetry.nodeId, partition, timing, nowWallMs - (nowMonotonicMs - timing.proposedMs), nowMonotonicMs, random, records, bytes));
    },
    appendFailed(_partition, code) {
      telemetry.recordAppendError(code);
    },
    fsync(durationSeconds) {
      telemetry.recordFsync(durationSeconds);
    },
    replicationRtt(_partition, _follower, rttSeconds) {
      telemetry.recordReplicationRtt(rttSeconds);
    },
    leaderElected() {
      telemetry.recordLeaderElectionWon();
    },
    faultyTailRepaired(_partition, how) {
      telemetry.recordFaultyTailRepaired(how);
    },
    diskRolledBack() {
      telemetry.recordDiskRollback(wallClock() / 1000);
    },
    retentionDeleted(bytes) {
      telemetry.recordRetentionDeleted(bytes);
    },
    snapshotSent() {
      telemetry.recordSnapshotSent();
    },
  };
}

/** The write path of one append as spans: append → leader persist → replicate (per follower) → commit → ack. */
function writeSpans(nodeId: number, partition: number, timing: WriteTiming, startWallMs: number, nowMonotonicMs: number, random: () => number, records: number, bytes: number): Span[] {
  const traceId = newTraceId(random);
  const rootId = newSpanId(random);
  const toWall = (monotonicMs: number): number => startWallMs + (monotonicMs - timing.proposedMs);
  const span = (name: string, fromMs: number, toMs: number, parent: string | null, attributes: Span['attributes'], spanId = newSpanId(random)): Span => ({
    traceId,
    spanId,
    parentSpanId: parent,
    name,
    nodeId,
    partition,
    startUnixNano: msToUnixNano(toWall(fromMs)),
    endUnixNano: msToUnixNano(toWall(Math.max(fromMs, toMs))),
    durationMicros: Math.max(0, Math.round((toMs - fromMs) * 1000)),
    attributes,
  });
  const persisted = timing.persistedMs || timing.committedMs;
  const spans: Span[] = [span('append', timing.proposedMs, nowMonotonicMs, null, { records, bytes, partition }, rootId)];
  spans.push(span('leader.persist', timing.proposedMs, persisted, rootId, { 'node.id': nodeId, fsync: true }));
  const replicateId = newSpanId(random);
  const acks = [...timing.followerAckMs.entries()].sort((a, b) => a[1] - b[1]);
  const quorumAckMs = acks[0]?.[1] ?? timing.committedMs;
  spans.push(span('replicate', timing.proposedMs, quorumAckMs, rootId, { followers: acks.length }, replicateId));
  for (const [follower, ackMs] of acks) {
    spans.push(span('follower.append+fsync', timing.proposedMs, ackMs, replicateId, { 'replica.id': follower }));
  }
  spans.push(span('commit', Math.max(persisted, quorumAckMs), timing.committedMs, rootId, {}));
  spans.push(span('ack', timing.committedMs, nowMonotonicMs, rootId, {}));
  return spans;
}

/** Refreshes the node's gauges from its replicas; registered as the telemetry's collect hook. */
export function refreshNodeGauges(telemetry: NodeTelemetry, node: LogNode): void {
  let underReplicated = 0;
  let faultyTails = 0;
  for (const [partition, replica] of node.partitions()) {
    if (replica.raft.faultyTail() !== null) faultyTails++;
    const status = replica.raft.status();
    const isLeader = status.role === 'leader';
    telemetry.setPartitionState(partition, {
      leaderId: node.isRunning ? status.leader : 0,
      isLeader: node.isRunning && isLeader,
      term: status.term,
      commitIndex: status.commit,
      highWatermark: replica.hw,
      logEndOffset: replica.logEndOffset(),
      logStartOffset: replica.logStartOffset(),
    });
    if (node.isRunning && isLeader) {
      const lags = replica.followerLag();
      // Unknown lag (a new leader has not heard from the follower yet) is exposed as NaN, never as 0 or the whole log.
      for (const lag of lags) telemetry.setReplicaState(partition, lag.replica, { lagRecords: lag.lagRecords ?? Number.NaN, lagSeconds: lag.lagSeconds ?? Number.NaN, inSync: lag.inSync });
      if (lags.some((lag) => !lag.inSync)) underReplicated++;
    }
  }
  telemetry.setUnderReplicatedPartitions(underReplicated);
  telemetry.setFaultyTailPartitions(faultyTails);
  telemetry.setDiskUsedBytes(node.diskUsedBytes());
  telemetry.setJournalIndexBytes(node.journalIndex().bytes);
  const catchUp = node.catchUpStats();
  telemetry.setCatchUp(catchUp.segmentReadBytes, catchUp.readsThrottled, catchUp.inflightBytes);
  const scrub = node.scrubStats();
  telemetry.setScrub(scrub.bytes, scrub.passes);
  telemetry.setDiskFree(node.diskFreeBytes(), node.diskFull);
}
