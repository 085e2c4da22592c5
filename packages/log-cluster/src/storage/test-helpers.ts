import { expect } from 'vitest';
import type { FileDisk } from './file-disk.ts';

/** Waits (up to ~10 s) until `disk` has a zero-filled spare of every size in `sizes`, and checks it has. */
export async function untilPreallocated(disk: FileDisk, sizes: readonly number[]): Promise<void> {
  const ready = (): boolean => sizes.every((bytes) => disk.preallocatedReady(bytes));
  for (let i = 0; i < 1000 && !ready(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(ready()).toBe(true);
}
