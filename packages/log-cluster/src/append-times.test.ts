import { describe, expect, it } from 'vitest';
import { AppendTimes } from './append-times.ts';
import { seededRandom } from './sim/random.ts';

/** The plain version: an array of samples, spliced. AppendTimes must answer exactly as it does. */
class Model {
  samples: { index: number; ms: number }[] = [];
  floorMs = 0;
  constructor(readonly max: number, readonly resolutionMs: number) {}
  reset(floorMs: number): void {
    this.samples = [];
    this.floorMs = floorMs;
  }
  note(index: number, ms: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && (index <= last.index || ms - last.ms < this.resolutionMs)) return;
    this.samples.push({ index, ms });
    if (this.samples.length > this.max) this.floorMs = this.samples.splice(0, this.max >> 1).at(-1)!.ms;
  }
  appendedMs(index: number): number {
    let found: number | undefined;
    for (const s of this.samples) if (s.index <= index) found = s.ms;
    return found ?? this.floorMs;
  }
  dropThrough(index: number): void {
    let drop = 0;
    while (drop + 1 < this.samples.length && this.samples[drop + 1]!.index <= index + 1) drop++;
    this.samples.splice(0, drop);
  }
}

describe('AppendTimes', () => {
  it('answers like an array of samples under random appends, lag reads, drops and resets', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const random = seededRandom(seed);
      // Small maxima make the ring wrap, grow and hit its bound often; one seed set uses an odd bound.
      const max = seed % 3 === 0 ? 37 : seed % 3 === 1 ? 64 : 4096;
      const times = new AppendTimes(max, 10);
      const model = new Model(max, 10);
      let index = seed % 2 === 0 ? 2 ** 40 : 1;
      let ms = 1_000 + seed;
      let lowestMatch = index - 1;
      for (let step = 0; step < 4000; step++) {
        const roll = random();
        if (roll < 0.7) {
          index += 1 + Math.floor(random() * 3);
          ms += random() * 12;
          times.note(index, ms);
          model.note(index, ms);
        } else if (roll < 0.9) {
          // Followers catch up by a random amount, never past the last append.
          lowestMatch = Math.min(index, lowestMatch + Math.floor(random() * 40));
          times.dropThrough(lowestMatch);
          model.dropThrough(lowestMatch);
        } else if (roll < 0.998) {
          times.note(index, ms + 5); // same index again: never a second sample
          model.note(index, ms + 5);
        } else {
          times.reset(ms);
          model.reset(ms);
          lowestMatch = index;
        }
        expect(times.size).toBe(model.samples.length);
        for (const probe of [lowestMatch + 1, index, index - 7, index - 300, index + 1, 0]) {
          expect(times.appendedMs(probe)).toBe(model.appendedMs(probe));
        }
      }
    }
  });

  it('keeps the sample of the first entry a follower lacks, and the ones after it', () => {
    const times = new AppendTimes(1024, 10);
    times.reset(5);
    for (let i = 1; i <= 100; i++) times.note(i, 100 + i * 10);
    times.dropThrough(49); // every follower holds 1…49
    expect(times.appendedMs(50)).toBe(600);
    expect(times.appendedMs(100)).toBe(1100);
    expect(times.size).toBe(51);
    times.dropThrough(100);
    expect(times.size).toBe(1);
    expect(times.appendedMs(101)).toBe(1100);
  });

  it('past its bound drops the older half and counts what it covered as old as its last sample', () => {
    const times = new AppendTimes(8, 10);
    times.reset(0);
    for (let i = 1; i <= 9; i++) times.note(i, i * 100);
    expect(times.size).toBe(5);
    expect(times.appendedMs(2)).toBe(400); // sample 4 was the last dropped
    expect(times.appendedMs(5)).toBe(500);
  });

  it('refuses a bound it cannot keep', () => {
    expect(() => new AppendTimes(1, 10)).toThrow(RangeError);
    expect(() => new AppendTimes(2.5, 10)).toThrow(RangeError);
  });
});
