/**
 * The history checker: what the workload saw (acknowledged appends, reads) against what the
 * cluster holds at the end (every replica's committed log). Each violation names the rule.
 */
export interface AckedAppend {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
  /** Who appended it and when, in that client's own count: a client's appends to a partition keep this order. */
  readonly issued?: { readonly client: number; readonly n: number };
}

export interface ObservedRead {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
  readonly node: number;
}

export interface ReplicaLog {
  readonly node: number;
  readonly partition: number;
  /** Committed records from the replica's log start, by offset. */
  readonly startOffset: number;
  readonly values: readonly string[];
}

export interface CheckResult {
  readonly violations: string[];
  readonly ackedChecked: number;
  readonly readsChecked: number;
  /** Acknowledged records below the final log start: deleted by retention, not lost. */
  readonly deletedByRetention: number;
}

/** Checks the rules below; `finalLogs` holds, per partition, the log the cluster serves (its leader's). */
export function checkHistory(acked: readonly AckedAppend[], reads: readonly ObservedRead[], finalLogs: ReadonlyMap<number, ReplicaLog>, replicaLogs: readonly ReplicaLog[]): CheckResult {
  const violations: string[] = [];
  const at = (log: ReplicaLog, offset: number): string | undefined => (offset < log.startOffset ? undefined : log.values[offset - log.startOffset]);

  // (1) every acknowledged record is in the final committed log, at the offset it was acknowledged with.
  let deletedByRetention = 0;
  for (const ack of acked) {
    const log = finalLogs.get(ack.partition);
    if (log !== undefined && ack.offset < log.startOffset) {
      deletedByRetention++; // below the log start: retention deleted it, as configured
      continue;
    }
    const found = log === undefined ? undefined : at(log, ack.offset);
    if (found !== ack.value) {
      violations.push(`lost or moved: acknowledged ${JSON.stringify(ack.value)} at partition ${ack.partition} offset ${ack.offset}, final log has ${found === undefined ? 'nothing' : JSON.stringify(found)} there`);
    }
  }

  // (2) replicas agree on their committed prefixes.
  for (const replica of replicaLogs) {
    const log = finalLogs.get(replica.partition);
    if (log === undefined) continue;
    const from = Math.max(replica.startOffset, log.startOffset);
    const to = Math.min(replica.startOffset + replica.values.length, log.startOffset + log.values.length);
    for (let offset = from; offset < to; offset++) {
      if (at(replica, offset) !== at(log, offset)) {
        violations.push(`divergence: node ${replica.node} partition ${replica.partition} offset ${offset} has ${JSON.stringify(at(replica, offset))}, the leader's log ${JSON.stringify(at(log, offset))}`);
        break;
      }
    }
  }

  // (3) no record appears twice (every workload value is unique, retries reuse it).
  for (const [partition, log] of finalLogs) {
    const seen = new Map<string, number>();
    log.values.forEach((value, i) => {
      const offset = log.startOffset + i;
      const first = seen.get(value);
      if (first !== undefined) violations.push(`duplicate: ${JSON.stringify(value)} at partition ${partition} offsets ${first} and ${offset}`);
      else seen.set(value, offset);
    });
  }

  // (4) a read never returned what did not end up committed at that offset.
  for (const read of reads) {
    const log = finalLogs.get(read.partition);
    if (log !== undefined && read.offset < log.startOffset) continue;
    const found = log === undefined ? undefined : at(log, read.offset);
    if (found !== undefined && found !== read.value) {
      violations.push(`dirty read: node ${read.node} served ${JSON.stringify(read.value)} at partition ${read.partition} offset ${read.offset}, committed is ${JSON.stringify(found)}`);
    } else if (found === undefined && log !== undefined && read.offset >= log.startOffset + log.values.length) {
      violations.push(`dirty read: node ${read.node} served offset ${read.offset} of partition ${read.partition}, past the final committed end ${log.startOffset + log.values.length}`);
    }
  }
  // (5) one client's acknowledged appends to one partition sit in the order the client issued them
  // (its batches may be in flight together and retried in any order).
  const streams = new Map<string, { n: number; offset: number; value: string }[]>();
  for (const ack of acked) {
    if (ack.issued === undefined) continue;
    const key = `${ack.partition}/${ack.issued.client}`;
    let stream = streams.get(key);
    if (stream === undefined) streams.set(key, (stream = []));
    stream.push({ n: ack.issued.n, offset: ack.offset, value: ack.value });
  }
  for (const [key, stream] of streams) {
    stream.sort((a, b) => a.n - b.n);
    for (let i = 1; i < stream.length; i++) {
      const [before, after] = [stream[i - 1]!, stream[i]!];
      if (after.offset <= before.offset) {
        violations.push(`reordered: partition/client ${key} issued ${JSON.stringify(before.value)} before ${JSON.stringify(after.value)}, acknowledged at offsets ${before.offset} and ${after.offset}`);
        break;
      }
    }
  }
  return { violations, ackedChecked: acked.length - deletedByRetention, readsChecked: reads.length, deletedByRetention };
}
