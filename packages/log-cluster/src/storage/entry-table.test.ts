import { describe, expect, it } from 'vitest';
import { seededRandom } from '../sim/random.ts';
import { EntryTable } from './entry-table.ts';

interface Row {
  term: number;
  offset: number;
  count: number;
  segment: number;
  position: number;
  bytes: number;
  cacheSlab: number;
  cacheOffset: number;
}

/** `liveCacheFrom`: cache slabs before it are gone, so an entry cached there reads as not cached (-1) or as its old slab alike. */
function expectSame(table: EntryTable, model: Row[], liveCacheFrom = 0): void {
  expect(table.length).toBe(model.length);
  const slab = (s: number): number => (s < liveCacheFrom ? -1 : s);
  model.forEach((row, i) => {
    expect([table.term(i), table.offset(i), table.count(i), table.segment(i), table.position(i), table.bytes(i), slab(table.cacheSlab(i))]).toEqual([row.term, row.offset, row.count, row.segment, row.position, row.bytes, slab(row.cacheSlab)]);
    if (slab(row.cacheSlab) >= 0) expect(table.cacheOffset(i)).toBe(row.cacheOffset);
  });
}

describe('EntryTable', () => {
  it('answers like an array of rows under pushes, truncations, front drops, updates and sealing, across chunk boundaries', () => {
    // Chunks of 1, 4 and 16 entries cross boundaries constantly; 4 096 (the default) starts with doubling.
    for (const chunkEntries of [1, 4, 16, 4096]) {
      const random = seededRandom(chunkEntries + 7);
      const table = new EntryTable(chunkEntries);
      const model: Row[] = [];
      let offset = 0;
      let term = 1;
      let segment = 1;
      // The cache's oldest live slab: it moves on, and sealing follows it.
      let liveCacheFrom = 0;
      let sealedOnce = false;
      for (let step = 0; step < 3000; step++) {
        if (random() < 0.1) {
          if (random() < 0.3) liveCacheFrom += Math.floor(random() * 30);
          const before = table.memoryBytes;
          table.seal(liveCacheFrom);
          if (table.memoryBytes < before) sealedOnce = true;
        }
        const roll = random();
        if (roll < 0.6) {
          const count = 1 + Math.floor(random() * 4);
          if (random() < 0.01) term++;
          if (random() < 0.02) segment++;
          const pending = random() < 0.2;
          const row: Row = { term, offset, count, segment: pending ? -step : segment, position: Math.floor(random() * 1e6), bytes: Math.floor(random() * 5000), cacheSlab: -1, cacheOffset: 0 };
          table.push(row.term, row.offset, row.count, row.segment, row.position, row.bytes);
          model.push(row);
          offset += count;
        } else if (roll < 0.7 && model.length > 0) {
          const keep = Math.floor(random() * (model.length + 1));
          table.truncate(keep);
          model.length = keep;
          offset = model.length === 0 ? offset : model.at(-1)!.offset + model.at(-1)!.count;
        } else if (roll < 0.85 && model.length > 0) {
          const n = Math.floor(random() * Math.min(model.length, 40)) + (random() < 0.05 ? model.length - Math.min(model.length, 40) : 0);
          table.dropFront(n);
          model.splice(0, n);
        } else if (model.length > 0) {
          const i = Math.floor(random() * model.length);
          const row = model[i]!;
          if (random() < 0.5) {
            const slab = liveCacheFrom + Math.floor(random() * 100);
            const cacheOffset = Math.floor(random() * 65536);
            // A sealed entry is not cached again: the model follows what the table kept.
            expect(table.setCached(i, slab, cacheOffset)).toBe(table.cacheable(i));
            if (table.cacheable(i)) {
              row.cacheSlab = slab;
              row.cacheOffset = cacheOffset;
            }
          } else {
            row.segment = segment;
            row.position = Math.floor(random() * 1e6);
            table.setLocation(i, row.segment, row.position);
          }
        }
        if (step % 25 === 0 || step > 2950) {
          expectSame(table, model, liveCacheFrom);
          if (model.length > 0) {
            const probe = model[Math.floor(random() * model.length)]!.offset + Math.floor(random() * 3);
            let last = -1;
            model.forEach((row, i) => {
              if (row.offset <= probe) last = i;
            });
            expect(table.lastAtOrBelowOffset(probe)).toBe(last);
          }
        }
      }
      if (chunkEntries < 4096) expect(sealedOnce).toBe(true);
    }
  });

  it('seals written chunks once the cache has moved past them, in about a quarter of the memory', () => {
    const table = new EntryTable(4096);
    const rows: [number, number, number, number, number, number][] = [];
    let offset = 0;
    for (let i = 0; i < 10 * 4096 + 100; i++) {
      // Terms and segments change now and then, counts and sizes every entry.
      const row: [number, number, number, number, number, number] = [1 + Math.floor(i / 9000), offset, 1 + (i % 7), 1 + Math.floor(i / 5000), (i % 5000) * 300, 50 + (i % 300)];
      table.push(...row);
      rows.push(row);
      offset += row[2];
      table.setCached(i, Math.floor(i / 1000), (i % 1000) * 64);
    }
    const plain = table.memoryBytes;
    // Entries cached in slab 20 and later (i >= 20 000) are live: chunks 0–3 (entries < 16 384) seal, 4 waits.
    table.seal(20);
    expect(table.memoryBytes).toBeLessThan(plain - 4 * 4096 * 52 + 4 * 4096 * 13);
    expect(table.cacheable(16383)).toBe(false);
    expect(table.cacheable(16384)).toBe(true);
    expect(table.setCached(100, 30, 0)).toBe(false);
    expect(table.cacheSlab(100)).toBe(-1);
    expect(table.cacheSlab(16384)).toBe(16);
    // The cache moves past everything: all but the last chunk seal, at most 13 bytes an entry (52 plain).
    table.seal(1000);
    expect(table.memoryBytes).toBeLessThanOrEqual(10 * 4096 * 13 + 4096 * 52);
    expect(plain).toBe(11 * 4096 * 52);
    rows.forEach((row, i) => expect([table.term(i), table.offset(i), table.count(i), table.segment(i), table.position(i), table.bytes(i)]).toEqual(row));
    for (const probe of [0, 1, 7, 12345, offset - 1, offset + 5]) {
      const expected = rows.findLastIndex((r) => r[1] <= probe);
      expect(table.lastAtOrBelowOffset(probe)).toBe(expected);
    }
    expect(table.countInSegmentsUpTo(3)).toBe(15000);

    // Truncating into a sealed chunk makes it plain again (it takes the next pushes); front drops free sealed chunks.
    table.truncate(5000);
    table.push(9, rows[4999]![1] + rows[4999]![2], 1, 99, 0, 10);
    expect(table.cacheable(5000)).toBe(true);
    expect([table.term(4999), table.offset(4999), table.term(5000), table.segment(5000)]).toEqual([1, rows[4999]![1], 9, 99]);
    table.dropFront(4500);
    expect(table.offset(0)).toBe(rows[4500]![1]);
    expect(table.length).toBe(501);
  });

  it('keeps a chunk plain when it cannot seal it exactly, and one with entries still pending', () => {
    const table = new EntryTable(4);
    // Chunk 0: a position past 4 GiB. Chunk 1: an offset gap. Chunk 2: a pending entry. Chunk 3: sealable.
    const rows: [number, number, number, number, number, number][] = [
      [1, 0, 1, 1, 0, 5], [1, 1, 1, 1, 2 ** 33, 5], [1, 2, 1, 1, 10, 5], [1, 3, 1, 1, 20, 5],
      [1, 4, 1, 1, 30, 5], [1, 9, 1, 1, 40, 5], [1, 10, 1, 1, 50, 5], [1, 11, 1, 1, 60, 5],
      [1, 12, 1, 2, 0, 5], [1, 13, 1, -7, 0, 5], [1, 14, 1, 2, 10, 5], [1, 15, 1, 2, 20, 5],
      [2, 16, 2, 2, 30, 5], [2, 18, 2, 2, 40, 5], [3, 20, 2, 3, 0, 5], [3, 22, 2, 3, 10, 5],
      [3, 24, 1, 3, 20, 5],
    ];
    for (const row of rows) table.push(...row);
    const plain = table.memoryBytes;
    table.seal(0);
    // Only chunk 0 and 1 are past the pending one: neither fits, and the pending chunk stops the rest.
    expect(table.memoryBytes).toBe(plain);
    table.setLocation(9, 2, 5);
    rows[9] = [1, 13, 1, 2, 5, 5];
    table.seal(0);
    expect(table.memoryBytes).toBeLessThan(plain);
    expect(table.cacheable(8)).toBe(false);
    expect(table.cacheable(12)).toBe(false);
    expect(table.cacheable(0)).toBe(true);
    expect(table.cacheable(16)).toBe(true);
    rows.forEach((row, i) => expect([table.term(i), table.offset(i), table.count(i), table.segment(i), table.position(i), table.bytes(i)]).toEqual(row));
    // A write to a sealed entry unseals its chunk and lands.
    table.setLocation(13, 4, 99);
    expect([table.segment(13), table.position(13), table.term(13), table.offset(13)]).toEqual([4, 99, 2, 18]);
    expect(table.cacheable(13)).toBe(true);
  });

  it('slides a small table down when mostly dropped from the front, and keeps every entry', () => {
    const table = new EntryTable(4096);
    const model: number[] = [];
    let offset = 0;
    for (let round = 0; round < 6; round++) {
      // Fill to the capacity (64, then 128, …), drop most from the front, fill again.
      while (model.length < 60 + round * 10) {
        table.push(1, offset, 1, 1, 0, 1);
        model.push(offset++);
      }
      table.dropFront(model.length - 3);
      model.splice(0, model.length - 3);
      for (let i = 0; i < 70; i++) {
        table.push(1, offset, 1, 1, 0, 1);
        model.push(offset++);
      }
      expect(table.length).toBe(model.length);
      model.forEach((o, i) => expect(table.offset(i)).toBe(o));
    }
  });

  it('counts the leading entries in segments up to one, pending entries last', () => {
    const table = new EntryTable(4);
    for (let i = 0; i < 10; i++) table.push(1, i, 1, i < 4 ? 1 : i < 9 ? 2 : -5, 0, 10);
    expect(table.countInSegmentsUpTo(0)).toBe(0);
    expect(table.countInSegmentsUpTo(1)).toBe(4);
    expect(table.countInSegmentsUpTo(2)).toBe(9);
    table.dropFront(6);
    expect(table.countInSegmentsUpTo(2)).toBe(3);
    expect(table.term(0)).toBe(1);
    expect(table.offset(0)).toBe(6);
  });

  it('refuses reads outside the table and a chunk size that is not a power of two', () => {
    const table = new EntryTable(4);
    table.push(1, 0, 1, 1, 0, 10);
    expect(() => table.term(1)).toThrow();
    expect(() => table.term(-1)).toThrow();
    expect(() => new EntryTable(3)).toThrow();
  });
});
