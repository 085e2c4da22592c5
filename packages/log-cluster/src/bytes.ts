/**
 * Short-lived byte buffers (frames, record batches, journal record headers) carved from shared
 * 64 KiB slabs. Each `new Uint8Array(n)` is an ArrayBuffer of its own, and every young ArrayBuffer
 * costs the scavenger a sweep when it dies: a TCP node at 4 000 appends/s spent most of each
 * scavenge pause (1.7 of 2.1 ms) freeing them. Carving pins the slab until every piece is dead,
 * so only what lives for milliseconds (until a flush is durable or a frame is written) belongs here.
 */
const SLAB_BYTES = 64 << 10;
/** Larger buffers get their own ArrayBuffer: they are few, and would waste most of a slab. */
export const POOLED_BYTES_MAX = 8 << 10;

let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

/** `length` zeroed bytes: a slab is fresh and no piece of it is handed out twice. */
export function allocBytes(length: number): Uint8Array {
  if (length > POOLED_BYTES_MAX) return new Uint8Array(length);
  if (used + length > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const out = new Uint8Array(slab, used, length);
  // 8-byte aligned, so a piece can be read as wider typed arrays.
  used += (length + 7) & ~7;
  return out;
}
