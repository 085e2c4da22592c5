// Ack ledger: every acknowledged (partition, offset, digest) of the load generator, so a drill
// can read the log back and prove no acknowledged write was lost. Columnar typed arrays that
// grow by doubling: 2 + 8 + 8 = 18 B per entry, ≤ 18 MB at the cap.

import { createHash } from 'node:crypto';

/** Entries kept; past it further acks are counted but not kept (`truncated`). */
export const LEDGER_ENTRIES_MAX = 1_000_000;
const INITIAL_CAPACITY = 4_096;

export interface LedgerEntry {
  partition: number;
  offset: number;
  /** First 8 bytes of the record's SHA-256, hex. */
  digest: string;
}

export function recordDigest(record: Uint8Array): string {
  return createHash('sha256').update(record).digest('hex').slice(0, 16);
}

export class AckLedger {
  private partitions = new Uint16Array(INITIAL_CAPACITY);
  private offsets = new Float64Array(INITIAL_CAPACITY);
  private digests = new BigUint64Array(INITIAL_CAPACITY);
  private count = 0;
  /** Newest acknowledged offset per partition (kept even past the cap: readers need only the newest). */
  private readonly latest = new Map<number, number>();
  /** Acks not kept because the ledger was full. */
  dropped = 0;

  constructor(readonly max = LEDGER_ENTRIES_MAX) {}

  add(partition: number, offset: number, digestHex: string): void {
    if (offset > (this.latest.get(partition) ?? -1)) this.latest.set(partition, offset);
    if (this.count >= this.max) {
      this.dropped++;
      return;
    }
    if (this.count === this.partitions.length) this.grow();
    this.partitions[this.count] = partition;
    this.offsets[this.count] = offset;
    this.digests[this.count] = BigInt(`0x${digestHex}`);
    this.count++;
  }

  private grow(): void {
    const capacity = Math.min(this.partitions.length * 2, this.max);
    const p = new Uint16Array(capacity);
    p.set(this.partitions);
    const o = new Float64Array(capacity);
    o.set(this.offsets);
    const d = new BigUint64Array(capacity);
    d.set(this.digests);
    this.partitions = p;
    this.offsets = o;
    this.digests = d;
  }

  /** Newest acknowledged offset per partition. */
  latestOffsets(): ReadonlyMap<number, number> {
    return this.latest;
  }

  get size(): number {
    return this.count;
  }

  get truncated(): boolean {
    return this.dropped > 0;
  }

  *entries(): IterableIterator<LedgerEntry> {
    for (let i = 0; i < this.count; i++) {
      yield {
        partition: this.partitions[i] ?? 0,
        offset: this.offsets[i] ?? 0,
        digest: (this.digests[i] ?? 0n).toString(16).padStart(16, '0'),
      };
    }
  }
}
