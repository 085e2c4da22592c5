import { CommittedBatches } from './committed-batches.ts';
import { producersFromState } from './producer-state.ts';
import { batchProducerId, batchSequence, checkHeaderAt, PRODUCER_IN_FLIGHT_MAX } from './payload.ts';
import type { PartitionLog, ReplayObserver } from './storage/journal.ts';

/**
 * What re-applying a restarted replica's log would rebuild, gathered while recovery reads every
 * record anyway: per producer its newest batches, and the last entry.
 *
 * Why: a replica's commit starts at its log start after a restart (see Replica), so it re-applied
 * its whole log, from disk, to rebuild the producers' committed batches. Each partition read its
 * own entries, and between them the records of every other partition: after two minutes at 2 000
 * appends/s on 5 × 256, the restarted node read 2.4 GB in 4 s for a 37 MB log (one stretch of its
 * log per partition), and an embedded cluster's loop, shared by every node, stalled for 2 s.
 */
export interface RecoveredApply {
  /** The last entry recovered; the state below is what applying every entry up to it builds. */
  readonly index: number;
  readonly term: number;
  readonly offsetEnd: number;
  /**
   * Each producer's newest committed batches, as applying the log's entries in order leaves them;
   * lastCommittedMs relative to the recovery's end (0, or below for one only the start's state holds).
   */
  readonly producers: Map<number, CommittedBatches>;
}

/** One producer's newest batches seen in a partition's replay: (index, sequence, offset, count) each, oldest first. */
interface ProducerBatches {
  readonly columns: Float64Array;
  head: number;
  count: number;
  /** Whether older batches were pushed out of the ring. */
  pushedOut: boolean;
}

const BATCH_COLUMNS = 4;
/**
 * Batches kept per producer: twice what a replica remembers, so a rewrite of the log's tail (a new
 * leader's entries replacing uncommitted ones, a producer's batches in flight among them: at most
 * PRODUCER_IN_FLIGHT_MAX) still leaves the newest batches before it.
 */
const RING = 2 * PRODUCER_IN_FLIGHT_MAX;

/** One partition's replay (see RecoveredApplies). */
class PartitionReplay {
  readonly producers = new Map<number, ProducerBatches>();
  lastIndex = -1;

  entry(index: number, offset: number, count: number, record: DataView, dataAt: number, dataBytes: number): void {
    if (this.lastIndex >= 0 && index <= this.lastIndex) this.rewrite(index);
    // A gap: the journal dropped every entry before (retention), so does the state they built.
    else if (this.lastIndex >= 0 && index > this.lastIndex + 1) this.producers.clear();
    this.lastIndex = index;
    if (dataBytes === 0) return; // a leader's no-op
    checkHeaderAt(record, dataAt, dataBytes);
    const producerId = batchProducerId(record, dataAt);
    let batches = this.producers.get(producerId);
    if (batches === undefined) this.producers.set(producerId, (batches = { columns: new Float64Array(RING * BATCH_COLUMNS), head: 0, count: 0, pushedOut: false }));
    let at: number;
    if (batches.count < RING) at = (batches.head + batches.count++) % RING;
    else {
      at = batches.head;
      batches.head = (batches.head + 1) % RING;
      batches.pushedOut = true;
    }
    const columns = batches.columns;
    columns[at * BATCH_COLUMNS] = index;
    columns[at * BATCH_COLUMNS + 1] = batchSequence(record, dataAt);
    columns[at * BATCH_COLUMNS + 2] = offset;
    columns[at * BATCH_COLUMNS + 3] = count;
  }

  /** Entries from `index` on are replaced: their batches go (the newest of each producer's ring). */
  private rewrite(index: number): void {
    for (const [producerId, batches] of this.producers) {
      while (batches.count > 0 && batches.columns[((batches.head + batches.count - 1) % RING) * BATCH_COLUMNS]! >= index) batches.count--;
      if (batches.count === 0 && !batches.pushedOut) this.producers.delete(producerId);
    }
  }
}

/**
 * Gathers a RecoveredApply per partition from the entries a journal's recovery replays (its
 * ReplayObserver), and hands each out once the recovery settled the partition's log.
 */
export class RecoveredApplies {
  private readonly partitions = new Map<number, PartitionReplay>();

  readonly observe: ReplayObserver = (partition, index, offset, count, record, dataAt, dataBytes) => {
    let replay = this.partitions.get(partition);
    if (replay === undefined) this.partitions.set(partition, (replay = new PartitionReplay()));
    replay.entry(index, offset, count, record, dataAt, dataBytes);
  };

  /**
   * The partition's RecoveredApply for its recovered `log`, or null when re-applying is needed: no
   * entries after the log start, a faulty tail, a log that is not what was replayed, or a rewrite
   * that left a producer fewer batches than it may need. Batches at or below the log start are
   * dropped: re-applying starts after it (a producer's older batches, pushed out, were older still),
   * from what the start's state keeps of them (as the replica does).
   */
  take(partition: number, log: PartitionLog): RecoveredApply | null {
    const replay = this.partitions.get(partition);
    this.partitions.delete(partition);
    const index = log.lastIndex();
    const start = log.firstIndex() - 1;
    if (replay === undefined || replay.lastIndex !== index || index <= start || log.faultyTail() !== null) return null;
    const term = log.term(index);
    if (term === undefined) return null;
    // The producers the entries before the start left (see producer-state.ts), older than any after it.
    const producers = producersFromState(log.snapshot().state, 0);
    for (const [producerId, batches] of replay.producers) {
      const after: number[] = [];
      for (let k = 0; k < batches.count; k++) {
        const at = ((batches.head + k) % RING) * BATCH_COLUMNS;
        if (batches.columns[at]! > start) after.push(at);
      }
      // Fewer than a replica remembers, after the start, while older ones were pushed out that may
      // lie after it too (a rewrite took the newer ones): what re-applying keeps is not all here.
      const oldestAt = batches.count > 0 ? batches.columns[batches.head * BATCH_COLUMNS]! : Infinity;
      if (after.length < PRODUCER_IN_FLIGHT_MAX && batches.pushedOut && oldestAt > start + 1) return null;
      if (after.length === 0) continue;
      let committed = producers.get(producerId);
      if (committed === undefined) producers.set(producerId, (committed = new CommittedBatches(PRODUCER_IN_FLIGHT_MAX)));
      for (const at of after.slice(-PRODUCER_IN_FLIGHT_MAX)) committed.add(batches.columns[at + 1]!, batches.columns[at + 2]!, batches.columns[at + 3]!);
      committed.lastCommittedMs = 0; // committed in the log: as fresh as the recovery (see Replica.restoreApplied)
    }
    return { index, term, offsetEnd: log.offsetEnd(index), producers };
  }
}
