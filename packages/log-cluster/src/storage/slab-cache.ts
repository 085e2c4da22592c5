/** The largest slab; a cache of less than 16 of them uses smaller ones, so eviction stays fine-grained. */
export const SLAB_BYTES_MAX = 1 << 20;
const SLAB_BYTES_MIN = 4 << 10;

export function defaultSlabBytes(capacityBytes: number): number {
  return Math.max(SLAB_BYTES_MIN, Math.min(SLAB_BYTES_MAX, Math.floor(capacityBytes / 16)));
}

/**
 * A FIFO cache of byte strings packed into large slabs, addressed by (slab sequence, offset).
 *
 * Why not one Uint8Array per item: a log's cache lives for seconds to minutes, so each item would
 * outlive the young generation and die in the old one. At a few thousand entries per second that
 * meant ~80 k cached entries per node, each a Uint8Array, an ArrayBuffer, its off-heap store and
 * a map entry, that every mark-compact had to trace and sweep: 20–35 ms pauses on 3 node processes
 * sharing 2 cores. Here an item costs two numbers in the caller's columnar table, and the heap holds
 * one ArrayBuffer for them all (below).
 *
 * Eviction drops whole slabs, oldest first, and the memory of the standard-size ones is reused: they
 * are cut from one buffer of the cache's capacity, allocated up front. V8 counts every ArrayBuffer's
 * bytes as external memory and starts a mark-compact whenever that grows by 64 MB: with a new buffer
 * per slab, every mark-compact of a TCP node was started by "external memory pressure" (every
 * ~1.5 s at its maximum load, every ~16 s at 4 000 appends/s of 1 KiB), never by its heap, which was
 * far from its limit, and the three nodes of a cluster, storing the same bytes, crossed it together.
 * So a view from read() is valid only until the cache next stores: a holder that keeps the bytes
 * longer copies them (Journal.memoryData does).
 */
export class SlabCache {
  /** slabs[k] has sequence firstSeq + k; the last one is being filled. */
  private readonly slabs: Uint8Array[] = [];
  private firstSeq = 0;
  private filled = 0;
  private heldBytes = 0;
  /** The offset of the last store's bytes in their slab. */
  lastOffset = 0;
  /** Standard-size slabs not in use: pieces of one buffer of the capacity, allocated up front. */
  private readonly free: Uint8Array[] = [];

  constructor(
    readonly capacityBytes: number,
    readonly slabBytes = defaultSlabBytes(capacityBytes),
  ) {
    if (!Number.isInteger(capacityBytes) || capacityBytes < 0) throw new RangeError(`cache capacity must be a non-negative integer (got ${capacityBytes})`);
    if (!Number.isInteger(slabBytes) || slabBytes < 1) throw new RangeError(`slab size must be a positive integer (got ${slabBytes})`);
    const slots = Math.floor(capacityBytes / slabBytes);
    if (slots > 0) {
      const arena = new ArrayBuffer(slots * slabBytes);
      for (let k = slots - 1; k >= 0; k--) this.free.push(new Uint8Array(arena, k * slabBytes, slabBytes));
    }
  }

  /** The oldest slab still held: items stored in an older one are gone. */
  get liveFrom(): number {
    return this.firstSeq;
  }

  /** Bytes held in slabs (at most the capacity). */
  get bytes(): number {
    return this.heldBytes;
  }

  /**
   * Copies `data` in; returns its slab's sequence (offset in `lastOffset`), or -1 when it does not
   * fit the cache at all. An item larger than a slab gets a slab of its own.
   */
  store(data: Uint8Array): number {
    const length = data.length;
    if (length > this.capacityBytes || this.capacityBytes === 0) return -1;
    let slab = this.slabs[this.slabs.length - 1];
    if (slab === undefined || this.filled + length > slab.length) {
      slab = this.openSlab(Math.max(Math.min(this.slabBytes, this.capacityBytes), length));
    }
    slab.set(data, this.filled);
    this.lastOffset = this.filled;
    this.filled += length;
    return this.firstSeq + this.slabs.length - 1;
  }

  /** The bytes stored at (seq, offset), or null once their slab was evicted. */
  read(seq: number, offset: number, length: number): Uint8Array | null {
    const slab = this.slabs[seq - this.firstSeq];
    if (slab === undefined || offset + length > slab.length) return null;
    return slab.subarray(offset, offset + length);
  }

  clear(): void {
    this.firstSeq += this.slabs.length;
    for (const slab of this.slabs) if (slab.length === this.slabBytes) this.free.push(slab);
    this.slabs.length = 0;
    this.filled = 0;
    this.heldBytes = 0;
  }

  private openSlab(size: number): Uint8Array {
    // Room first (the new slab alone fits: store checked), so that an evicted slab can be reused.
    for (let oldest = this.slabs[0]; oldest !== undefined && this.heldBytes + size > this.capacityBytes; oldest = this.slabs[0]) {
      this.slabs.shift();
      this.firstSeq++;
      this.heldBytes -= oldest.length;
      if (oldest.length === this.slabBytes) this.free.push(oldest);
    }
    const slab = (size === this.slabBytes ? this.free.pop() : undefined) ?? new Uint8Array(size);
    this.slabs.push(slab);
    this.filled = 0;
    this.heldBytes += size;
    return slab;
  }
}
