import { describe, expect, it } from 'vitest';
import { decodeHistogram, summary } from './histogram.ts';
import { parseMetrics, type ParsedSample } from './exposition.ts';
import { LATENCY_BUCKETS_SECONDS, MAX_APPEND_ERROR_REASONS, METRIC_NAMES, NodeTelemetry } from './metrics.ts';

const EXPECTED_TYPES: Record<string, 'counter' | 'gauge' | 'histogram'> = {
  logscope_records_appended_total: 'counter',
  logscope_bytes_appended_total: 'counter',
  logscope_leader_elections_total: 'counter',
  logscope_append_errors_total: 'counter',
  logscope_recovery_corruptions_total: 'counter',
  logscope_fsyncs_total: 'counter',
  logscope_append_latency_seconds: 'histogram',
  logscope_fsync_duration_seconds: 'histogram',
  logscope_replication_rtt_seconds: 'histogram',
  logscope_event_loop_delay_seconds: 'histogram',
  logscope_node_up: 'gauge',
  logscope_partition_leader: 'gauge',
  logscope_partition_is_leader: 'gauge',
  logscope_raft_term: 'gauge',
  logscope_commit_index: 'gauge',
  logscope_high_watermark: 'gauge',
  logscope_log_end_offset: 'gauge',
  logscope_log_start_offset: 'gauge',
  logscope_replica_lag_records: 'gauge',
  logscope_replica_lag_seconds: 'gauge',
  logscope_replica_in_sync: 'gauge',
  logscope_under_replicated_partitions: 'gauge',
  logscope_faulty_tail_partitions: 'gauge',
  logscope_faulty_tails_repaired_total: 'counter',
  logscope_disk_rollbacks_total: 'counter',
  logscope_disk_rollback_last_timestamp_seconds: 'gauge',
  logscope_disk_used_bytes: 'gauge',
  logscope_disk_free_bytes: 'gauge',
  logscope_disk_full: 'gauge',
  logscope_journal_index_bytes: 'gauge',
  logscope_segment_read_bytes_total: 'counter',
  logscope_segment_reads_throttled_total: 'counter',
  logscope_replication_inflight_bytes: 'gauge',
  logscope_scrub_bytes_total: 'counter',
  logscope_scrub_passes_total: 'counter',
  logscope_partition_leader_changes_total: 'counter',
  logscope_retention_deleted_bytes_total: 'counter',
  logscope_snapshots_sent_total: 'counter',
};

function find(samples: ParsedSample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

function populated(): NodeTelemetry {
  const t = new NodeTelemetry({ nodeId: 2, nowMs: 0 });
  t.recordAppended(3, 300);
  t.recordLeaderElectionWon();
  t.recordAppendError('not_leader');
  t.recordRecoveryCorruption();
  t.recordAppendLatency(0.002, 0);
  t.recordAppendLatency(0.004, 1);
  t.recordFsync(0.0008);
  t.recordReplicationRtt(0.0003);
  t.recordEventLoopDelay(0.0005);
  t.recordEventLoopDelay(0.042);
  t.setPartitionState(0, { leaderId: 2, isLeader: true, term: 4, commitIndex: 17, highWatermark: 12, logEndOffset: 12, logStartOffset: 4 });
  t.setReplicaState(0, 1, { lagRecords: 0, lagSeconds: 0, inSync: true });
  t.setReplicaState(0, 3, { lagRecords: 250, lagSeconds: 1.5, inSync: false });
  t.setUnderReplicatedPartitions(1);
  t.setFaultyTailPartitions(2);
  t.recordFaultyTailRepaired('peer');
  t.recordDiskRollback(1_764_400_000);
  t.setDiskUsedBytes(4096);
  t.setJournalIndexBytes(212_992);
  t.recordRetentionDeleted(32_768);
  t.recordRetentionDeleted(0); // a pass that deleted nothing
  t.recordRetentionDeleted(65_536);
  t.recordSnapshotSent();
  t.recordSnapshotSent();
  return t;
}

describe('NodeTelemetry', () => {
  it('exposes every metric with its type and parses back', async () => {
    const text = await populated().metricsText();
    for (const [name, type] of Object.entries(EXPECTED_TYPES)) {
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
    }
    expect(Object.values(METRIC_NAMES).sort()).toEqual(Object.keys(EXPECTED_TYPES).sort());
    // Own registry: no process_/nodejs_ default metrics.
    expect(text).not.toMatch(/^(process|nodejs)_/m);

    const samples = parseMetrics(text);
    expect(find(samples, 'logscope_records_appended_total')).toBe(3);
    expect(find(samples, 'logscope_bytes_appended_total')).toBe(300);
    expect(find(samples, 'logscope_append_errors_total', { reason: 'not_leader' })).toBe(1);
    expect(find(samples, 'logscope_fsyncs_total')).toBe(1);
    expect(find(samples, 'logscope_node_up')).toBe(1);
    expect(find(samples, 'logscope_partition_leader', { partition: '0' })).toBe(2);
    expect(find(samples, 'logscope_high_watermark', { partition: '0' })).toBe(12);
    expect(find(samples, 'logscope_log_end_offset', { partition: '0' })).toBe(12);
    expect(find(samples, 'logscope_log_start_offset', { partition: '0' })).toBe(4);
    expect(find(samples, 'logscope_retention_deleted_bytes_total')).toBe(98_304);
    expect(find(samples, 'logscope_snapshots_sent_total')).toBe(2);
    expect(find(samples, 'logscope_replica_lag_records', { partition: '0', replica: '3' })).toBe(250);
    expect(find(samples, 'logscope_replica_in_sync', { partition: '0', replica: '3' })).toBe(0);
    expect(find(samples, 'logscope_partition_leader_changes_total', { partition: '0' })).toBe(0);
    expect(find(samples, 'logscope_faulty_tail_partitions')).toBe(2);
    expect(find(samples, 'logscope_faulty_tails_repaired_total', { how: 'peer' })).toBe(1);
    expect(find(samples, 'logscope_disk_rollbacks_total')).toBe(1);
    expect(find(samples, 'logscope_disk_rollback_last_timestamp_seconds')).toBe(1_764_400_000);

    const buckets = samples.filter((s) => s.name === 'logscope_append_latency_seconds_bucket');
    expect(buckets.map((b) => b.labels['le'])).toEqual([...LATENCY_BUCKETS_SECONDS.map(String), '+Inf']);
    expect(find(samples, 'logscope_append_latency_seconds_bucket', { le: '0.002' })).toBe(1);
    expect(find(samples, 'logscope_append_latency_seconds_bucket', { le: '+Inf' })).toBe(2);
    expect(find(samples, 'logscope_append_latency_seconds_count')).toBe(2);
    expect(find(samples, 'logscope_append_latency_seconds_sum')).toBeCloseTo(0.006, 9);
  });

  it('gives an in-process reader exactly the samples a parse of its text gives (histograms, +Inf, a lag that is not a whole number included)', async () => {
    const t = populated();
    t.setPartitionState(7, { leaderId: 3, isLeader: false, term: 9, commitIndex: 2 ** 40, highWatermark: 5, logEndOffset: 6 });
    let hooked = 0;
    t.onCollect(() => {
      hooked++;
    });
    const key = (s: ParsedSample): string => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`;
    const sorted = (samples: ParsedSample[]): ParsedSample[] => [...samples].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    const fromText = sorted(parseMetrics(await t.metricsText()));
    const direct = sorted(await t.metricsSamples());
    expect(direct).toEqual(fromText);
    expect(direct.length).toBeGreaterThan(100);
    expect(find(direct, 'logscope_append_latency_seconds_bucket', { le: '+Inf' })).toBe(2);
    expect(find(direct, 'logscope_replica_lag_seconds', { partition: '0', replica: '3' })).toBe(1.5);
    expect(hooked).toBe(2); // collect hooks run for both
  });

  it('follows the node\'s catch-up totals as counters, from zero again after the node restarts', async () => {
    const t = new NodeTelemetry({ nodeId: 1 });
    const read = async (): Promise<number[]> => {
      const samples = parseMetrics(await t.metricsText());
      return ['logscope_segment_read_bytes_total', 'logscope_segment_reads_throttled_total', 'logscope_replication_inflight_bytes'].map((name) => find(samples, name) ?? Number.NaN);
    };
    t.setCatchUp(1000, 2, 4096);
    expect(await read()).toEqual([1000, 2, 4096]);
    t.setCatchUp(2500, 5, 0);
    expect(await read()).toEqual([2500, 5, 0]);
    t.setCatchUp(300, 1, 512); // restarted: its totals begin again
    expect(await read()).toEqual([2800, 6, 512]);
  });

  it('follows the node\'s scrub totals as counters, from zero again after the node restarts', async () => {
    const t = new NodeTelemetry({ nodeId: 1 });
    const read = async (): Promise<number[]> => {
      const samples = parseMetrics(await t.metricsText());
      return ['logscope_scrub_bytes_total', 'logscope_scrub_passes_total'].map((name) => find(samples, name) ?? Number.NaN);
    };
    t.setScrub(4096, 1);
    t.setScrub(10_000, 2);
    expect(await read()).toEqual([10_000, 2]);
    t.setScrub(100, 0); // restarted
    expect(await read()).toEqual([10_100, 2]);
  });

  it('exports the retention counters at 0 before anything was deleted or sent, and a start offset only once set', async () => {
    const t = new NodeTelemetry({ nodeId: 1 });
    t.setPartitionState(5, { logEndOffset: 9 });
    const samples = parseMetrics(await t.metricsText());
    expect(find(samples, 'logscope_retention_deleted_bytes_total')).toBe(0);
    expect(find(samples, 'logscope_snapshots_sent_total')).toBe(0);
    expect(find(samples, 'logscope_log_start_offset', { partition: '5' })).toBeUndefined();
    t.setPartitionState(5, { logStartOffset: 3 });
    t.setPartitionState(5, { logStartOffset: 7 }); // retention moved it on
    expect(find(parseMetrics(await t.metricsText()), 'logscope_log_start_offset', { partition: '5' })).toBe(7);
  });

  it('runs collect hooks before exposition', async () => {
    const t = new NodeTelemetry({ nodeId: 1 });
    let disk = 0;
    t.onCollect(() => t.setDiskUsedBytes((disk += 100)));
    expect(find(parseMetrics(await t.metricsText()), 'logscope_disk_used_bytes')).toBe(100);
    expect(find(parseMetrics(await t.metricsText()), 'logscope_disk_used_bytes')).toBe(200);
  });

  it('drops replica lag series when the node stops leading', async () => {
    const t = populated();
    t.setPartitionState(0, { isLeader: false, leaderId: 3 });
    const samples = parseMetrics(await t.metricsText());
    expect(samples.filter((s) => s.name.startsWith('logscope_replica_'))).toEqual([]);
    expect(find(samples, 'logscope_partition_leader_changes_total', { partition: '0' })).toBe(1);

    t.clearPartition(0);
    const after = parseMetrics(await t.metricsText());
    expect(after.filter((s) => s.labels['partition'] === '0')).toEqual([]);
  });

  it('bounds append error reasons', async () => {
    const t = new NodeTelemetry({ nodeId: 1 });
    for (let i = 0; i < MAX_APPEND_ERROR_REASONS + 5; i++) t.recordAppendError(`reason_${i}`);
    const reasons = parseMetrics(await t.metricsText()).filter((s) => s.name === 'logscope_append_errors_total');
    expect(reasons).toHaveLength(MAX_APPEND_ERROR_REASONS + 1);
    expect(find(reasons, 'logscope_append_errors_total', { reason: 'other' })).toBe(5);
  });

  it('rotates every recorder and serves exact windows per metric and partition', () => {
    const t = populated();
    expect(t.histogramsJson().windows).toEqual([]);
    t.rotate(1_000);
    const json = t.histogramsJson();
    expect(json.nodeId).toBe(2);
    const keys = json.windows.map((w) => `${w.metric}:${w.partition}`).sort();
    expect(keys).toEqual(['append:0', 'append:1', 'append:null', 'event_loop_delay:null', 'fsync:null', 'replication_rtt:null']);
    const append = json.windows.find((w) => w.metric === 'append' && w.partition === null)!;
    expect(append).toMatchObject({ startMs: 0, endMs: 1_000 });
    const s = summary(decodeHistogram(append.encoded));
    expect(s.count).toBe(2);
    expect(Math.abs(s.maxMicros - 4_000)).toBeLessThanOrEqual(4);
    expect(t.histogramsJson(1_000).windows).toEqual([]);
    // The loop's stalls: the 42 ms tick is the window's max, whatever the other ticks were.
    const loop = summary(decodeHistogram(json.windows.find((w) => w.metric === 'event_loop_delay')!.encoded));
    expect(loop.count).toBe(2);
    expect(Math.abs(loop.maxMicros - 42_000)).toBeLessThanOrEqual(42);
  });
});
