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

function expectSame(table: EntryTable, model: Row[]): void {
  expect(table.length).toBe(model.length);
  model.forEach((row, i) => {
    expect([table.term(i), table.offset(i), table.count(i), table.segment(i), table.position(i), table.bytes(i), table.cacheSlab(i)]).toEqual([row.term, row.offset, row.count, row.segment, row.position, row.bytes, row.cacheSlab]);
    if (row.cacheSlab >= 0) expect(table.cacheOffset(i)).toBe(row.cacheOffset);
  });
}

describe('EntryTable', () => {
  it('answers like an array of rows under pushes, truncations, front drops and updates, across chunk boundaries', () => {
    // Chunks of 1, 4 and 16 entries cross boundaries constantly; 4 096 (the default) starts with doubling.
    for (const chunkEntries of [1, 4, 16, 4096]) {
      const random = seededRandom(chunkEntries + 7);
      const table = new EntryTable(chunkEntries);
      const model: Row[] = [];
      let offset = 0;
      let term = 1;
      let segment = 1;
      for (let step = 0; step < 3000; step++) {
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
            row.cacheSlab = Math.floor(random() * 100);
            row.cacheOffset = Math.floor(random() * 65536);
            table.setCached(i, row.cacheSlab, row.cacheOffset);
          } else {
            row.segment = segment;
            row.position = Math.floor(random() * 1e6);
            table.setLocation(i, row.segment, row.position);
          }
        }
        if (step % 25 === 0 || step > 2950) {
          expectSame(table, model);
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
    }
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
