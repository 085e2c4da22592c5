import { describe, expect, it } from 'vitest';
import { SlabCache, defaultSlabBytes } from './slab-cache.ts';

const bytes = (length: number, seed: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);

describe('SlabCache', () => {
  it('reads back what it stored, packed into shared slabs, and copies rather than keeps the input', () => {
    const cache = new SlabCache(64 << 10, 4 << 10);
    const items = Array.from({ length: 10 }, (_, k) => bytes(700 + k, k));
    const where = items.map((item) => ({ slab: cache.store(item), offset: cache.lastOffset }));
    expect(new Set(where.map((w) => w.slab)).size).toBe(2); // 7 items of ~700 bytes per 4 KiB slab
    const original = items[3]!.slice();
    items[3]!.fill(0); // the caller's buffer is free to change or die
    items.forEach((item, k) => {
      const read = cache.read(where[k]!.slab, where[k]!.offset, item.length);
      expect(read).toEqual(k === 3 ? original : item);
    });
  });

  it('evicts whole slabs, oldest first, and never beyond its capacity', () => {
    const cache = new SlabCache(16 << 10, 4 << 10);
    const stored: { slab: number; offset: number; data: Uint8Array }[] = [];
    for (let k = 0; k < 200; k++) {
      const data = bytes(1000, k);
      stored.push({ slab: cache.store(data), offset: cache.lastOffset, data });
      expect(cache.bytes).toBeLessThanOrEqual(16 << 10);
    }
    const readable = stored.map((s) => cache.read(s.slab, s.offset, s.data.length));
    const firstReadable = readable.findIndex((r) => r !== null);
    expect(firstReadable).toBeGreaterThan(150); // only the newest ~16 KiB remain
    for (let k = firstReadable; k < stored.length; k++) expect(readable[k]).toEqual(stored[k]!.data);
    expect(readable.slice(0, firstReadable).every((r) => r === null)).toBe(true);
  });

  it('cuts its slabs from one buffer allocated up front and reuses them, so storing allocates nothing', () => {
    const cache = new SlabCache(8 << 10, 4 << 10);
    const first = bytes(3000, 7);
    const slab = cache.store(first);
    const view = cache.read(slab, cache.lastOffset, first.length)!;
    const buffers = new Set<ArrayBufferLike>([view.buffer]);
    const stored: { slab: number; offset: number; data: Uint8Array }[] = [];
    for (let k = 0; k < 20; k++) {
      const data = bytes(3000, 100 + k);
      stored.push({ slab: cache.store(data), offset: cache.lastOffset, data });
      buffers.add(cache.read(stored[k]!.slab, stored[k]!.offset, data.length)!.buffer);
    }
    expect([...buffers].map((b) => b.byteLength)).toEqual([8 << 10]);
    expect(cache.read(slab, 0, first.length)).toBeNull();
    expect(view).not.toEqual(first); // a view is good only until eviction: its memory holds a newer item now
    for (const s of stored.slice(-2)) expect(cache.read(s.slab, s.offset, s.data.length)).toEqual(s.data);
  });

  it('gives an item larger than a slab a slab of its own, and refuses one larger than the cache', () => {
    const cache = new SlabCache(64 << 10, 4 << 10);
    const small = bytes(100, 1);
    const big = bytes(10_000, 2);
    const s1 = cache.store(small);
    const s2 = cache.store(big);
    expect(cache.lastOffset).toBe(0);
    const s3 = cache.store(small);
    expect(s2).toBeGreaterThan(s1);
    expect(s3).toBeGreaterThan(s2); // the big item's slab is not shared
    expect(cache.read(s2, 0, big.length)).toEqual(big);
    expect(cache.store(bytes((64 << 10) + 1, 3))).toBe(-1);
    expect(new SlabCache(0).store(small)).toBe(-1);
  });

  it('stays within a capacity smaller than its slab size', () => {
    const cache = new SlabCache(512, 4 << 10);
    for (let k = 0; k < 50; k++) {
      const data = bytes(100 + k, k);
      const slab = cache.store(data);
      expect(cache.read(slab, cache.lastOffset, data.length)).toEqual(data);
      expect(cache.bytes).toBeLessThanOrEqual(512);
    }
  });

  it('forgets everything on clear, and sequences keep rising', () => {
    const cache = new SlabCache(64 << 10, 4 << 10);
    const before = cache.store(bytes(10, 1));
    cache.clear();
    expect(cache.bytes).toBe(0);
    expect(cache.read(before, 0, 10)).toBeNull();
    expect(cache.store(bytes(10, 2))).toBeGreaterThan(before);
  });

  it('keeps storing into its one buffer after clears', () => {
    const cache = new SlabCache(8 << 10, 4 << 10);
    const buffers = new Set<ArrayBufferLike>();
    for (let k = 0; k < 30; k++) {
      if (k % 3 === 0) cache.clear();
      const data = bytes(3000, k);
      const slab = cache.store(data);
      const read = cache.read(slab, cache.lastOffset, data.length)!;
      expect(read).toEqual(data);
      buffers.add(read.buffer);
    }
    expect([...buffers].map((b) => b.byteLength)).toEqual([8 << 10]);
  });

  it('sizes slabs to the capacity', () => {
    expect(defaultSlabBytes(64 << 20)).toBe(1 << 20);
    expect(defaultSlabBytes(1 << 20)).toBe(64 << 10);
    expect(defaultSlabBytes(300)).toBe(4 << 10);
    expect(() => new SlabCache(-1)).toThrow(RangeError);
  });
});
