// One node's scraped /metrics, reduced to what the console shows.

import { METRIC_NAMES, type ParsedSample } from '@logscope/telemetry';

export interface PartitionGauges {
  leaderId: number;
  isLeader: boolean;
  term: number;
  commitIndex: number;
  highWatermark: number;
  logEndOffset: number;
  /** First offset the replica still holds (logscope_log_start_offset); -1 when the node does not report it. */
  logStartOffset: number;
}

export interface ReplicaGauges {
  lagRecords: number;
  lagSeconds: number;
  inSync: boolean;
}

export interface NodeSnapshot {
  recordsAppendedTotal: number;
  bytesAppendedTotal: number;
  leaderElectionsTotal: number;
  underReplicatedPartitions: number;
  /** Its replicas that lost acknowledged records to a storage fault and wait for them (logscope_faulty_tail_partitions); -1 when not reported. */
  faultyTailPartitions: number;
  diskUsedBytes: number;
  /** -1 when the node does not report it. */
  diskFreeBytes: number;
  diskFull: boolean;
  /** When a peer last found its disk put back to an older copy (logscope_disk_rollback_last_timestamp_seconds), in ms; 0 when not since it started or not reported. */
  diskRolledBackAtMs: number;
  /** Memory of the node's per-entry log index (logscope_journal_index_bytes); -1 when the node does not report it. */
  journalIndexBytes: number;
  /** Entry bytes its log reads took from segments (logscope_segment_read_bytes_total); -1 when not reported. */
  segmentReadBytesTotal: number;
  /** Times its segment read budget held a read back (logscope_segment_reads_throttled_total); -1 when not reported. */
  segmentReadsThrottledTotal: number;
  /** Entry bytes in flight to followers now (logscope_replication_inflight_bytes); -1 when not reported. */
  replicationInflightBytes: number;
  /** Record bytes its scrub checked (logscope_scrub_bytes_total), and passes over its whole log it finished; -1 when not reported. */
  scrubBytesTotal: number;
  scrubPassesTotal: number;
  /** Segment bytes retention deleted (logscope_retention_deleted_bytes_total); -1 when not reported. */
  retentionDeletedBytesTotal: number;
  /** Snapshots it sent to replicas behind its log start (logscope_snapshots_sent_total); -1 when not reported. */
  snapshotsSentTotal: number;
  partitions: Map<number, PartitionGauges>;
  /** Leader only: partition → replica → lag. */
  replicas: Map<number, Map<number, ReplicaGauges>>;
}

const n = METRIC_NAMES;

function intLabel(sample: ParsedSample, label: string): number | null {
  const text = sample.labels[label];
  if (text === undefined || !/^\d+$/.test(text)) return null;
  return Number(text);
}

export function toSnapshot(samples: readonly ParsedSample[]): NodeSnapshot {
  const snap: NodeSnapshot = {
    recordsAppendedTotal: 0,
    bytesAppendedTotal: 0,
    leaderElectionsTotal: 0,
    underReplicatedPartitions: 0,
    faultyTailPartitions: -1,
    diskUsedBytes: 0,
    diskFreeBytes: -1,
    diskFull: false,
    diskRolledBackAtMs: 0,
    journalIndexBytes: -1,
    segmentReadBytesTotal: -1,
    segmentReadsThrottledTotal: -1,
    replicationInflightBytes: -1,
    scrubBytesTotal: -1,
    scrubPassesTotal: -1,
    retentionDeletedBytesTotal: -1,
    snapshotsSentTotal: -1,
    partitions: new Map(),
    replicas: new Map(),
  };
  const partition = (p: number): PartitionGauges => {
    let g = snap.partitions.get(p);
    if (g === undefined) {
      g = { leaderId: 0, isLeader: false, term: 0, commitIndex: 0, highWatermark: 0, logEndOffset: 0, logStartOffset: -1 };
      snap.partitions.set(p, g);
    }
    return g;
  };
  const replica = (p: number, r: number): ReplicaGauges => {
    let m = snap.replicas.get(p);
    if (m === undefined) snap.replicas.set(p, (m = new Map()));
    let g = m.get(r);
    if (g === undefined) m.set(r, (g = { lagRecords: 0, lagSeconds: 0, inSync: false }));
    return g;
  };
  for (const s of samples) {
    switch (s.name) {
      case n.recordsAppended: snap.recordsAppendedTotal = s.value; break;
      case n.bytesAppended: snap.bytesAppendedTotal = s.value; break;
      case n.leaderElections: snap.leaderElectionsTotal = s.value; break;
      case n.underReplicatedPartitions: snap.underReplicatedPartitions = s.value; break;
      case n.faultyTailPartitions: snap.faultyTailPartitions = s.value; break;
      case n.diskUsedBytes: snap.diskUsedBytes = s.value; break;
      case n.diskFreeBytes: snap.diskFreeBytes = s.value; break;
      case n.diskFull: snap.diskFull = s.value === 1; break;
      case n.diskRollbackLast: snap.diskRolledBackAtMs = s.value * 1000; break;
      case n.journalIndexBytes: snap.journalIndexBytes = s.value; break;
      case n.segmentReadBytes: snap.segmentReadBytesTotal = s.value; break;
      case n.segmentReadsThrottled: snap.segmentReadsThrottledTotal = s.value; break;
      case n.replicationInflightBytes: snap.replicationInflightBytes = s.value; break;
      case n.scrubBytes: snap.scrubBytesTotal = s.value; break;
      case n.scrubPasses: snap.scrubPassesTotal = s.value; break;
      case n.retentionDeletedBytes: snap.retentionDeletedBytesTotal = s.value; break;
      case n.snapshotsSent: snap.snapshotsSentTotal = s.value; break;
      case n.partitionLeader:
      case n.partitionIsLeader:
      case n.raftTerm:
      case n.commitIndex:
      case n.highWatermark:
      case n.logEndOffset:
      case n.logStartOffset: {
        const p = intLabel(s, 'partition');
        if (p === null) break;
        const g = partition(p);
        if (s.name === n.partitionLeader) g.leaderId = s.value;
        else if (s.name === n.partitionIsLeader) g.isLeader = s.value === 1;
        else if (s.name === n.raftTerm) g.term = s.value;
        else if (s.name === n.commitIndex) g.commitIndex = s.value;
        else if (s.name === n.highWatermark) g.highWatermark = s.value;
        else if (s.name === n.logEndOffset) g.logEndOffset = s.value;
        else g.logStartOffset = s.value;
        break;
      }
      case n.replicaLagRecords:
      case n.replicaLagSeconds:
      case n.replicaInSync: {
        const p = intLabel(s, 'partition');
        const r = intLabel(s, 'replica');
        if (p === null || r === null) break;
        const g = replica(p, r);
        if (s.name === n.replicaLagRecords) g.lagRecords = s.value;
        else if (s.name === n.replicaLagSeconds) g.lagSeconds = s.value;
        else g.inSync = s.value === 1;
        break;
      }
      default:
        break;
    }
  }
  return snap;
}
