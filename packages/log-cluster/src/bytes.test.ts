import { describe, expect, it } from 'vitest';
import { POOLED_BYTES_MAX, allocBytes } from './bytes.ts';

describe('allocBytes', () => {
  it('hands out zeroed pieces that never overlap, across slabs', () => {
    const pieces: Uint8Array[] = [];
    // Sizes that straddle slab ends and the pooled limit.
    for (let i = 0; i < 400; i++) pieces.push(allocBytes([1, 7, 1024, 1500, POOLED_BYTES_MAX, POOLED_BYTES_MAX + 1, 0][i % 7]!));
    for (const piece of pieces) expect(piece.every((byte) => byte === 0)).toBe(true);
    pieces.forEach((piece, i) => piece.fill((i % 250) + 1));
    // Every piece still holds its own fill: a shared byte would hold a later piece's value.
    pieces.forEach((piece, i) => expect(piece.every((byte) => byte === (i % 250) + 1)).toBe(true));
  });

  it('gives large buffers their own ArrayBuffer, and small ones a shared slab', () => {
    const large = allocBytes(POOLED_BYTES_MAX + 1);
    expect(large.byteOffset).toBe(0);
    expect(large.buffer.byteLength).toBe(POOLED_BYTES_MAX + 1);
    const a = allocBytes(100);
    const b = allocBytes(100);
    expect(b.buffer === a.buffer || b.byteOffset === 0).toBe(true);
    expect(a.buffer.byteLength).toBeGreaterThan(100);
  });
});
