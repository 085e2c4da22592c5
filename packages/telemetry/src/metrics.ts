// Per-node Prometheus metrics plus exact HDR recorders and sampled spans:
// one NodeTelemetry per engine node, each with its own Registry so several
// nodes can run in one process (the embedded default) without colliding.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ParsedSample } from './exposition.ts';
import { LatencyRecorder, type HistogramWindow } from './histogram.ts';
import { SpanRecorder, type RandomSource, type Span, type SpansJson } from './spans.ts';

/** 1-2-5 log-spaced buckets from 50 µs to 10 s, in seconds. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.00005, 0.0001, 0.0002, 0.0005,
  0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5,
  1, 2, 5, 10,
];

/** Per-partition exact append recorders kept at most; beyond, only the node-wide one records. */
export const MAX_PARTITION_RECORDERS = 256;
/**
 * Closed windows are encoded a few at a time, paced over at most ENCODE_SPREAD_MS after the
 * rotation (slices ENCODE_SLICE_PAUSE_MS apart, at least ENCODES_PER_SLICE each). Rotation itself
 * only swaps histograms, so every window still closes at the rotation's instant.
 *
 * A window's encoding costs tens of microseconds, up to a millisecond on a busy machine. Rotated
 * all in one turn, an embedded 5 × 256 cluster stalled every write in flight for 10–14 ms each
 * second; in slices of 16 encodings 5 ms apart (the windows closing as their slice ran), the first
 * ~40 ms of each second still held ~20 such slices of ~0.35 ms on top of the writes, and in three of
 * four runs a quarter to two fifths of the slowest 1 % of appends (2 000/s) completed just after
 * them. Spread over a few hundred milliseconds, the same work is a few percent of a core there.
 */
const ENCODE_SPREAD_MS = 400;
const ENCODE_SLICE_PAUSE_MS = 10;
const ENCODES_PER_SLICE = 2;
/** Distinct `reason` label values; further reasons are folded into "other" (labels must stay small). */
export const MAX_APPEND_ERROR_REASONS = 16;
export const OTHER_REASON = 'other';

export const METRIC_NAMES = {
  recordsAppended: 'logscope_records_appended_total',
  bytesAppended: 'logscope_bytes_appended_total',
  leaderElections: 'logscope_leader_elections_total',
  appendErrors: 'logscope_append_errors_total',
  recoveryCorruptions: 'logscope_recovery_corruptions_total',
  fsyncs: 'logscope_fsyncs_total',
  appendLatency: 'logscope_append_latency_seconds',
  fsyncDuration: 'logscope_fsync_duration_seconds',
  replicationRtt: 'logscope_replication_rtt_seconds',
  eventLoopDelay: 'logscope_event_loop_delay_seconds',
  nodeUp: 'logscope_node_up',
  partitionLeader: 'logscope_partition_leader',
  partitionIsLeader: 'logscope_partition_is_leader',
  raftTerm: 'logscope_raft_term',
  commitIndex: 'logscope_commit_index',
  highWatermark: 'logscope_high_watermark',
  logEndOffset: 'logscope_log_end_offset',
  logStartOffset: 'logscope_log_start_offset',
  replicaLagRecords: 'logscope_replica_lag_records',
  replicaLagSeconds: 'logscope_replica_lag_seconds',
  replicaInSync: 'logscope_replica_in_sync',
  underReplicatedPartitions: 'logscope_under_replicated_partitions',
  faultyTailPartitions: 'logscope_faulty_tail_partitions',
  faultyTailsRepaired: 'logscope_faulty_tails_repaired_total',
  diskRollbacks: 'logscope_disk_rollbacks_total',
  diskRollbackLast: 'logscope_disk_rollback_last_timestamp_seconds',
  diskUsedBytes: 'logscope_disk_used_bytes',
  diskFreeBytes: 'logscope_disk_free_bytes',
  diskFull: 'logscope_disk_full',
  journalIndexBytes: 'logscope_journal_index_bytes',
  segmentReadBytes: 'logscope_segment_read_bytes_total',
  segmentReadsThrottled: 'logscope_segment_reads_throttled_total',
  replicationInflightBytes: 'logscope_replication_inflight_bytes',
  scrubBytes: 'logscope_scrub_bytes_total',
  scrubPasses: 'logscope_scrub_passes_total',
  partitionLeaderChanges: 'logscope_partition_leader_changes_total',
  retentionDeletedBytes: 'logscope_retention_deleted_bytes_total',
  snapshotsSent: 'logscope_snapshots_sent_total',
} as const;

/** The node-wide metrics with exact per-second windows in histogramsJson (append also per partition). */
export const HISTOGRAM_METRICS = ['append', 'fsync', 'replication_rtt', 'event_loop_delay'] as const;
export type HistogramMetric = (typeof HISTOGRAM_METRICS)[number];

export interface HistogramWindowJson extends HistogramWindow {
  metric: HistogramMetric;
  /** null for the node-wide recorder. */
  partition: number | null;
}

export interface HistogramsJson {
  nodeId: number;
  windows: HistogramWindowJson[];
}

/** What this node currently sees of one partition; every field optional so callers set what changed. */
export interface PartitionState {
  /** Leader node id as this node sees it, 0 when none. */
  leaderId?: number;
  isLeader?: boolean;
  term?: number;
  commitIndex?: number;
  /** Record offset below which records are committed. */
  highWatermark?: number;
  logEndOffset?: number;
  /** Offset of the first record this replica still holds (retention deleted those before it). */
  logStartOffset?: number;
}

export interface ReplicaState {
  lagRecords: number;
  lagSeconds: number;
  inSync: boolean;
}

export interface NodeTelemetryOptions {
  nodeId: number;
  windowMs?: number;
  maxClosedWindows?: number;
  /** Start of the first histogram window; defaults to Date.now(). */
  nowMs?: number;
  /** Injected into the span sampler for deterministic tests. */
  random?: RandomSource;
  spanSampleRate?: number;
  slowestTracesPerWindow?: number;
}

type PartitionLabel = 'partition';
type ReplicaLabels = 'partition' | 'replica';

export class NodeTelemetry {
  readonly nodeId: number;
  readonly registry = new Registry();

  private readonly recordsAppended: Counter;
  private readonly bytesAppended: Counter;
  private readonly leaderElections: Counter;
  private readonly appendErrors: Counter<'reason'>;
  private readonly recoveryCorruptions: Counter;
  private readonly fsyncs: Counter;
  private readonly appendLatency: Histogram;
  private readonly fsyncDuration: Histogram;
  private readonly replicationRtt: Histogram;
  private readonly eventLoopDelay: Histogram;
  private readonly nodeUp: Gauge;
  private readonly partitionLeader: Gauge<PartitionLabel>;
  private readonly partitionIsLeader: Gauge<PartitionLabel>;
  private readonly raftTerm: Gauge<PartitionLabel>;
  private readonly commitIndex: Gauge<PartitionLabel>;
  private readonly highWatermark: Gauge<PartitionLabel>;
  private readonly logEndOffset: Gauge<PartitionLabel>;
  private readonly logStartOffset: Gauge<PartitionLabel>;
  private readonly replicaLagRecords: Gauge<ReplicaLabels>;
  private readonly replicaLagSeconds: Gauge<ReplicaLabels>;
  private readonly replicaInSync: Gauge<ReplicaLabels>;
  private readonly underReplicated: Gauge;
  private readonly faultyTails: Gauge;
  private readonly faultyTailsRepaired: Counter;
  private readonly diskRollbacks: Counter;
  private readonly diskRollbackLast: Gauge;
  private readonly diskUsedBytes: Gauge;
  private readonly journalIndexBytes: Gauge;
  private readonly segmentReadBytes: Counter;
  private readonly segmentReadsThrottled: Counter;
  private readonly replicationInflightBytes: Gauge;
  /** The node's own totals at the last collect: counters go up by the difference (from zero after a restart). */
  private lastReadTotals = { bytes: 0, throttled: 0 };
  private readonly scrubBytes: Counter;
  private readonly scrubPasses: Counter;
  private lastScrubTotals = { bytes: 0, passes: 0 };
  private readonly diskFreeBytes: Gauge;
  private readonly diskFull: Gauge;
  private readonly partitionLeaderChanges: Counter<PartitionLabel>;
  private readonly retentionDeletedBytes: Counter;
  private readonly snapshotsSent: Counter;

  private readonly appendRecorder: LatencyRecorder;
  private readonly fsyncRecorder: LatencyRecorder;
  private readonly rttRecorder: LatencyRecorder;
  private readonly loopDelayRecorder: LatencyRecorder;
  private readonly partitionAppendRecorders = new Map<number, LatencyRecorder>();
  /** Recorders whose window the last rotation closed, encoded a slice at a time (see ENCODE_SPREAD_MS). */
  private encoding: { recorders: LatencyRecorder[]; next: number; perSlice: number } | null = null;
  private encodeTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly recorderOptions: { windowMs?: number; maxClosedWindows?: number; nowMs: number };
  /** Last rotation, so recorders created later start on the same window boundary. */
  private lastRotateMs: number | undefined;

  readonly spans: SpanRecorder;

  private readonly collectHooks: Array<() => void> = [];
  private readonly errorReasons = new Set<string>();
  /** Last non-zero leader seen per partition, to count leader changes. */
  private readonly lastLeader = new Map<number, number>();
  /** Replica label sets exported per partition, so they can be removed together. */
  private readonly replicaSeries = new Map<number, Set<number>>();

  constructor(options: NodeTelemetryOptions) {
    this.nodeId = options.nodeId;
    const registers = [this.registry];
    const counter = <L extends string = string>(name: string, help: string, labelNames: L[] = []) =>
      new Counter<L>({ name, help, labelNames, registers });
    const gauge = <L extends string = string>(name: string, help: string, labelNames: L[] = []) =>
      new Gauge<L>({ name, help, labelNames, registers });
    const histogram = (name: string, help: string) =>
      new Histogram({ name, help, buckets: [...LATENCY_BUCKETS_SECONDS], registers });
    const n = METRIC_NAMES;
    const p: PartitionLabel[] = ['partition'];
    const pr: ReplicaLabels[] = ['partition', 'replica'];

    this.recordsAppended = counter(n.recordsAppended, 'Records appended to partitions this node leads.');
    this.bytesAppended = counter(n.bytesAppended, 'Record bytes appended to partitions this node leads.');
    this.leaderElections = counter(n.leaderElections, 'Leader elections won by this node.');
    this.appendErrors = counter(n.appendErrors, 'Appends that failed, by reason.', ['reason']);
    this.recoveryCorruptions = counter(n.recoveryCorruptions, 'Corrupt or torn log records found during recovery.');
    this.fsyncs = counter(n.fsyncs, 'fsync calls completed.');
    this.appendLatency = histogram(n.appendLatency, 'Append latency from intended send time to ack, in seconds.');
    this.fsyncDuration = histogram(n.fsyncDuration, 'Duration of one fsync, in seconds.');
    this.replicationRtt = histogram(n.replicationRtt, 'Leader to follower replication round trip, in seconds.');
    this.eventLoopDelay = histogram(n.eventLoopDelay, 'How late a periodic timer ran on the event loop that runs this node, in seconds: the stalls of the node itself (a long task, a collection, a blocking call, no CPU for it), apart from the disk\'s (fsync duration).');
    this.nodeUp = gauge(n.nodeUp, 'Always 1 while the node serves metrics.');
    this.partitionLeader = gauge(n.partitionLeader, 'Leader node id as this node sees it (0: none).', p);
    this.partitionIsLeader = gauge(n.partitionIsLeader, '1 when this node leads the partition.', p);
    this.raftTerm = gauge(n.raftTerm, 'Current raft term.', p);
    this.commitIndex = gauge(n.commitIndex, 'Raft commit index.', p);
    this.highWatermark = gauge(n.highWatermark, 'Record offset below which records are committed.', p);
    this.logEndOffset = gauge(n.logEndOffset, 'Offset of the next record to be appended locally.', p);
    this.logStartOffset = gauge(n.logStartOffset, 'Offset of the first record this replica still holds: retention deleted the records before it, and a read below it fails with OffsetOutOfRange.', p);
    this.replicaLagRecords = gauge(n.replicaLagRecords, 'Records the replica is behind the leader (leader only).', pr);
    this.replicaLagSeconds = gauge(n.replicaLagSeconds, 'Seconds since the replica was last caught up (leader only).', pr);
    this.replicaInSync = gauge(n.replicaInSync, '1 when the replica is in sync (leader only).', pr);
    this.underReplicated = gauge(n.underReplicatedPartitions, 'Partitions led here with fewer in-sync replicas than replicas.');
    this.faultyTails = gauge(n.faultyTailPartitions, 'Replicas on this node that lost acknowledged records to a storage fault (a faulty tail) and wait to get them back from a peer or a leader.');
    this.faultyTailsRepaired = counter(n.faultyTailsRepaired, 'Faulty tails of replicas on this node that ended, by how: a peer sent the lost record, a leader re-sent the entries, or the answers showed they were never committed (discarded).', ['how']);
    this.diskRollbacks = counter(n.diskRollbacks, 'Times a peer found this node\'s disk put back to an older copy of itself (restored from a backup or snapshot: less durable than this node had told it), so acknowledged records and votes may be gone from it; its replicas then abstain until caught up.');
    this.diskRollbackLast = gauge(n.diskRollbackLast, 'When a peer last found this node\'s disk put back to an older copy of itself (Unix seconds; 0: not since this process started).');
    this.diskUsedBytes = gauge(n.diskUsedBytes, 'Bytes used by this node\'s log directory.');
    this.journalIndexBytes = gauge(n.journalIndexBytes, 'Bytes of memory in this node\'s per-entry index of its logs (grows with entries kept, not bytes).');
    this.segmentReadBytes = counter(n.segmentReadBytes, 'Entry bytes this node\'s log reads took from segments (followers catching up, consumers reading history), not from memory.');
    this.segmentReadsThrottled = counter(n.segmentReadsThrottled, 'Times the segment read budget cut a log read short or made a leader wait for an append in flight.');
    this.replicationInflightBytes = gauge(n.replicationInflightBytes, 'Entry bytes in flight from the partitions this node leads to their followers (bounded per follower node).');
    this.scrubBytes = counter(n.scrubBytes, 'Record bytes this node\'s scrub read back from its segments and checked (CRC32C), finding rot in data nothing reads.');
    this.scrubPasses = counter(n.scrubPasses, 'Passes over this node\'s whole log its scrub finished.');
    this.diskFreeBytes = gauge(n.diskFreeBytes, 'Bytes still free for this node\'s log directory.');
    this.diskFull = gauge(n.diskFull, '1 while a flush waits for disk space (nothing new becomes durable on this node), else 0.');
    this.partitionLeaderChanges = counter(n.partitionLeaderChanges, 'Leader changes this node observed.', p);
    this.retentionDeletedBytes = counter(n.retentionDeletedBytes, 'Segment bytes retention deleted from this node\'s log directory.');
    this.snapshotsSent = counter(n.snapshotsSent, 'Snapshots this node sent as leader to a replica behind its log start (entries it no longer holds), instead of entries.');

    this.nodeUp.set(1);
    this.underReplicated.set(0);
    this.faultyTails.set(0);

    this.recorderOptions = {
      nowMs: options.nowMs ?? Date.now(),
      ...(options.windowMs !== undefined ? { windowMs: options.windowMs } : {}),
      ...(options.maxClosedWindows !== undefined ? { maxClosedWindows: options.maxClosedWindows } : {}),
    };
    this.appendRecorder = new LatencyRecorder(this.recorderOptions);
    this.fsyncRecorder = new LatencyRecorder(this.recorderOptions);
    this.rttRecorder = new LatencyRecorder(this.recorderOptions);
    this.loopDelayRecorder = new LatencyRecorder(this.recorderOptions);
    this.spans = new SpanRecorder({
      nodeId: options.nodeId,
      ...(options.windowMs !== undefined ? { windowMs: options.windowMs } : {}),
      ...(options.random !== undefined ? { random: options.random } : {}),
      ...(options.spanSampleRate !== undefined ? { sampleRate: options.spanSampleRate } : {}),
      ...(options.slowestTracesPerWindow !== undefined ? { slowestPerWindow: options.slowestTracesPerWindow } : {}),
    });
  }

  // ---- counters --------------------------------------------------------

  recordAppended(records: number, bytes: number): void {
    this.recordsAppended.inc(records);
    this.bytesAppended.inc(bytes);
  }

  recordLeaderElectionWon(): void {
    this.leaderElections.inc();
  }

  recordAppendError(reason: string): void {
    if (!this.errorReasons.has(reason)) {
      if (this.errorReasons.size >= MAX_APPEND_ERROR_REASONS) reason = OTHER_REASON;
      else this.errorReasons.add(reason);
    }
    this.appendErrors.inc({ reason });
  }

  recordRecoveryCorruption(count = 1): void {
    this.recoveryCorruptions.inc(count);
  }

  // ---- latencies (Prometheus buckets + exact HDR) -----------------------

  recordAppendLatency(durationSeconds: number, partition?: number): void {
    this.appendLatency.observe(durationSeconds);
    this.appendRecorder.recordSeconds(durationSeconds);
    if (partition !== undefined) this.partitionRecorder(partition)?.recordSeconds(durationSeconds);
  }

  /** One completed fsync: counts it and records its duration. */
  recordFsync(durationSeconds: number): void {
    this.fsyncs.inc();
    this.fsyncDuration.observe(durationSeconds);
    this.fsyncRecorder.recordSeconds(durationSeconds);
  }

  recordReplicationRtt(durationSeconds: number): void {
    this.replicationRtt.observe(durationSeconds);
    this.rttRecorder.recordSeconds(durationSeconds);
  }

  /** How late one tick of the loop-delay sampler ran (see LoopDelaySampler in log-cluster). */
  recordEventLoopDelay(delaySeconds: number): void {
    this.eventLoopDelay.observe(delaySeconds);
    this.loopDelayRecorder.recordSeconds(delaySeconds);
  }

  private partitionRecorder(partition: number): LatencyRecorder | undefined {
    let recorder = this.partitionAppendRecorders.get(partition);
    if (recorder === undefined) {
      if (this.partitionAppendRecorders.size >= MAX_PARTITION_RECORDERS) return undefined;
      // Start where the node-wide recorders are so windows line up.
      recorder = new LatencyRecorder({ ...this.recorderOptions, nowMs: this.lastRotateMs ?? this.recorderOptions.nowMs });
      this.partitionAppendRecorders.set(partition, recorder);
    }
    return recorder;
  }

  // ---- gauges ----------------------------------------------------------

  setPartitionState(partition: number, state: PartitionState): void {
    const labels = { partition: String(partition) };
    if (state.leaderId !== undefined) {
      this.partitionLeader.set(labels, state.leaderId);
      // A change is a move to a different known leader; losing the leader (0) is not one yet.
      const previous = this.lastLeader.get(partition);
      if (state.leaderId !== 0) {
        if (previous !== undefined && previous !== state.leaderId) this.partitionLeaderChanges.inc(labels);
        else this.partitionLeaderChanges.inc(labels, 0); // export the series at 0 from the start
        this.lastLeader.set(partition, state.leaderId);
      }
    }
    if (state.isLeader !== undefined) {
      this.partitionIsLeader.set(labels, state.isLeader ? 1 : 0);
      // Only the leader exports replica lag; drop ours when we stop leading.
      if (!state.isLeader) this.clearReplicas(partition);
    }
    if (state.term !== undefined) this.raftTerm.set(labels, state.term);
    if (state.commitIndex !== undefined) this.commitIndex.set(labels, state.commitIndex);
    if (state.highWatermark !== undefined) this.highWatermark.set(labels, state.highWatermark);
    if (state.logEndOffset !== undefined) this.logEndOffset.set(labels, state.logEndOffset);
    if (state.logStartOffset !== undefined) this.logStartOffset.set(labels, state.logStartOffset);
  }

  /** Leader only: lag of one follower of a partition this node leads. */
  setReplicaState(partition: number, replica: number, state: ReplicaState): void {
    const labels = { partition: String(partition), replica: String(replica) };
    this.replicaLagRecords.set(labels, state.lagRecords);
    this.replicaLagSeconds.set(labels, state.lagSeconds);
    this.replicaInSync.set(labels, state.inSync ? 1 : 0);
    let replicas = this.replicaSeries.get(partition);
    if (replicas === undefined) this.replicaSeries.set(partition, (replicas = new Set()));
    replicas.add(replica);
  }

  /** Removes one replica's lag series (replica left the partition). */
  clearReplica(partition: number, replica: number): void {
    const labels = { partition: String(partition), replica: String(replica) };
    this.replicaLagRecords.remove(labels);
    this.replicaLagSeconds.remove(labels);
    this.replicaInSync.remove(labels);
    this.replicaSeries.get(partition)?.delete(replica);
  }

  /** Removes every replica lag series of a partition (this node stopped leading it). */
  clearReplicas(partition: number): void {
    for (const replica of [...(this.replicaSeries.get(partition) ?? [])]) this.clearReplica(partition, replica);
    this.replicaSeries.delete(partition);
  }

  /** Removes every series of a partition (no longer hosted on this node). */
  clearPartition(partition: number): void {
    this.clearReplicas(partition);
    const labels = { partition: String(partition) };
    for (const g of [this.partitionLeader, this.partitionIsLeader, this.raftTerm, this.commitIndex, this.highWatermark, this.logEndOffset, this.logStartOffset]) {
      g.remove(labels);
    }
    this.partitionLeaderChanges.remove(labels);
    this.lastLeader.delete(partition);
    this.partitionAppendRecorders.delete(partition);
  }

  setUnderReplicatedPartitions(count: number): void {
    this.underReplicated.set(count);
  }

  setFaultyTailPartitions(count: number): void {
    this.faultyTails.set(count);
  }

  recordFaultyTailRepaired(how: 'peer' | 'leader' | 'discarded'): void {
    this.faultyTailsRepaired.inc({ how });
  }

  recordDiskRollback(unixSeconds: number): void {
    this.diskRollbacks.inc();
    this.diskRollbackLast.set(unixSeconds);
  }

  setDiskUsedBytes(bytes: number): void {
    this.diskUsedBytes.set(bytes);
  }

  setJournalIndexBytes(bytes: number): void {
    this.journalIndexBytes.set(bytes);
  }

  /** The node's catch-up figures: its totals since it started (counters follow them), and bytes in flight now. */
  setCatchUp(segmentReadBytesTotal: number, readsThrottledTotal: number, inflightBytes: number): void {
    const last = this.lastReadTotals;
    this.segmentReadBytes.inc(growthSince(segmentReadBytesTotal, last.bytes));
    this.segmentReadsThrottled.inc(growthSince(readsThrottledTotal, last.throttled));
    this.lastReadTotals = { bytes: segmentReadBytesTotal, throttled: readsThrottledTotal };
    this.replicationInflightBytes.set(inflightBytes);
  }

  /** The node's scrub totals since it started (counters follow them, from zero again after a restart). */
  setScrub(bytesTotal: number, passesTotal: number): void {
    const last = this.lastScrubTotals;
    this.scrubBytes.inc(growthSince(bytesTotal, last.bytes));
    this.scrubPasses.inc(growthSince(passesTotal, last.passes));
    this.lastScrubTotals = { bytes: bytesTotal, passes: passesTotal };
  }

  /** Segment bytes one retention pass deleted. */
  recordRetentionDeleted(bytes: number): void {
    if (bytes > 0) this.retentionDeletedBytes.inc(bytes);
  }

  /** One snapshot message sent to a replica behind this leader's log start. */
  recordSnapshotSent(): void {
    this.snapshotsSent.inc();
  }

  setDiskFree(freeBytes: number, full: boolean): void {
    this.diskFreeBytes.set(freeBytes);
    this.diskFull.set(full ? 1 : 0);
  }

  // ---- spans -----------------------------------------------------------

  /** Builds the spans only if the tail sampler keeps the trace (see SpanRecorder.offerTrace). */
  offerTrace(totalMicros: number, nowMs: number, build: () => readonly Span[]): void {
    this.spans.offerTrace(totalMicros, nowMs, build);
  }

  recordTrace(spans: readonly Span[], totalMicros: number, nowMs: number): void {
    this.spans.recordTrace(spans, totalMicros, nowMs);
  }

  spansJson(sinceMs?: number): SpansJson {
    return this.spans.spansJson(sinceMs);
  }

  // ---- exposition ------------------------------------------------------

  /** Registers a hook run before each exposition, to refresh gauges lazily. */
  onCollect(fn: () => void): () => void {
    this.collectHooks.push(fn);
    return () => {
      const at = this.collectHooks.indexOf(fn);
      if (at !== -1) this.collectHooks.splice(at, 1);
    };
  }

  /** Prometheus text exposition (format 0.0.4). A throwing hook fails the scrape visibly. */
  async metricsText(): Promise<string> {
    for (const hook of this.collectHooks) hook();
    return this.registry.metrics();
  }

  /**
   * The samples parseMetrics(metricsText()) gives, without making and parsing the text: for a
   * reader in this process (the embedded console). At 256 partitions a node's text took ~9 ms to
   * make and ~19 ms to parse, in one run on the loop the embedded nodes share, every second.
   */
  async metricsSamples(): Promise<ParsedSample[]> {
    for (const hook of this.collectHooks) hook();
    const out: ParsedSample[] = [];
    for (const metric of await this.registry.getMetricsAsJSON()) {
      for (const v of metric.values) {
        const labels: Record<string, string> = {};
        for (const [k, x] of Object.entries(v.labels)) if (x !== undefined) labels[k] = String(x);
        // Histograms' values carry their own names (_bucket, _sum, _count).
        const name = 'metricName' in v && typeof v.metricName === 'string' ? v.metricName : metric.name;
        out.push({ name, labels, value: v.value });
      }
    }
    return out;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Closes the current window of every recorder; the engine calls it every second. */
  rotate(nowMs: number): void {
    this.lastRotateMs = nowMs;
    this.finishEncoding();
    const recorders = [this.appendRecorder, this.fsyncRecorder, this.rttRecorder, this.loopDelayRecorder, ...this.partitionAppendRecorders.values()];
    for (const recorder of recorders) recorder.rotate(nowMs);
    const slices = Math.max(1, Math.floor(ENCODE_SPREAD_MS / ENCODE_SLICE_PAUSE_MS));
    this.encoding = { recorders, next: 0, perSlice: Math.max(ENCODES_PER_SLICE, Math.ceil(recorders.length / slices)) };
    this.encodeTimer = setTimeout(this.encodeSlice, ENCODE_SLICE_PAUSE_MS).unref();
    this.spans.rotate(nowMs);
  }

  private readonly encodeSlice = (): void => {
    this.encodeTimer = null;
    const encoding = this.encoding;
    if (encoding === null) return;
    // Recorders with nothing to encode (empty windows, or already read) cost no slice.
    let encoded = 0;
    while (encoding.next < encoding.recorders.length && encoded < encoding.perSlice) {
      if (encoding.recorders[encoding.next++]!.encodeClosed()) encoded++;
    }
    if (encoding.next < encoding.recorders.length) this.encodeTimer = setTimeout(this.encodeSlice, ENCODE_SLICE_PAUSE_MS).unref();
    else this.encoding = null;
  };

  private finishEncoding(): void {
    if (this.encodeTimer !== null) clearTimeout(this.encodeTimer);
    this.encodeTimer = null;
    const encoding = this.encoding;
    if (encoding === null) return;
    for (; encoding.next < encoding.recorders.length; encoding.next++) encoding.recorders[encoding.next]!.encodeClosed();
    this.encoding = null;
  }

  /** Closed exact-histogram windows that ended after sinceMs. */
  histogramsJson(sinceMs?: number): HistogramsJson {
    const windows: HistogramWindowJson[] = [];
    const add = (metric: HistogramMetric, partition: number | null, recorder: LatencyRecorder) => {
      for (const w of recorder.windows(sinceMs)) windows.push({ metric, partition, ...w });
    };
    add('append', null, this.appendRecorder);
    add('fsync', null, this.fsyncRecorder);
    add('replication_rtt', null, this.rttRecorder);
    add('event_loop_delay', null, this.loopDelayRecorder);
    for (const [partition, recorder] of this.partitionAppendRecorders) add('append', partition, recorder);
    return { nodeId: this.nodeId, windows };
  }
}

/**
 * How much a node's running total grew since `last`, for a counter that follows it. A total below
 * the last one is a restarted node (an embedded cluster keeps a node's telemetry): it counts from zero.
 */
function growthSince(total: number, last: number): number {
  return total >= last ? total - last : total;
}
