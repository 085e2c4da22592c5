/**
 * One producer's newest committed batches on one partition, oldest dropped first: what a retry of
 * a batch that already committed is answered from (its first offset and record count).
 *
 * Numbers in one typed array, not an object per batch in an array that shifts: each batch lived
 * for the producer's next `capacity` commits on that partition, seconds at 256 partitions, so every
 * one was promoted to the old generation and died there, on every replica.
 */
export class CommittedBatches {
  /** Batch k (0 = oldest) is at column triple ((head + k) mod capacity): sequence, offset, count. */
  private readonly columns: Float64Array;
  private head = 0;
  private count = 0;
  /** When the newest batch was applied here (the replica's clock): what producer expiry goes by. */
  lastCommittedMs = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`CommittedBatches capacity must be a positive integer (got ${capacity})`);
    this.columns = new Float64Array(capacity * 3);
  }

  get size(): number {
    return this.count;
  }

  /** Notes a newly committed batch; past the capacity the oldest is forgotten. */
  add(sequence: number, offset: number, count: number): void {
    let at: number;
    if (this.count < this.capacity) {
      at = (this.head + this.count) % this.capacity;
      this.count++;
    } else {
      at = this.head;
      this.head = (this.head + 1) % this.capacity;
    }
    this.columns[at * 3] = sequence;
    this.columns[at * 3 + 1] = offset;
    this.columns[at * 3 + 2] = count;
  }

  /** The slot of the k-th remembered batch, oldest first (k < size). */
  slotOf(k: number): number {
    return (this.head + k) % this.capacity;
  }

  sequenceAt(slot: number): number {
    return this.columns[slot * 3]!;
  }

  /** The slot of the remembered batch with this sequence, or -1. */
  find(sequence: number): number {
    for (let k = 0; k < this.count; k++) {
      const at = (this.head + k) % this.capacity;
      if (this.columns[at * 3] === sequence) return at;
    }
    return -1;
  }

  offsetAt(slot: number): number {
    return this.columns[slot * 3 + 1]!;
  }

  countAt(slot: number): number {
    return this.columns[slot * 3 + 2]!;
  }

  /** The newest batch's sequence; -1 when none. */
  lastSequence(): number {
    return this.count === 0 ? -1 : this.columns[((this.head + this.count - 1) % this.capacity) * 3]!;
  }
}
