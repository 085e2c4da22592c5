import { describe, expect, it } from 'vitest';
import { crc32c } from './crc32c.ts';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Bit-at-a-time reference, to check the sliced tables against. */
function crc32cSlow(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

describe('crc32c', () => {
  it('matches the standard check value for "123456789"', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
  });
  it('matches the RFC 3720 vectors', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });
  it('is 0 for empty input', () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });
  it('agrees with the bitwise reference at every length and can be continued with a seed', () => {
    const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff);
    for (let n = 0; n <= data.length; n += 7) {
      const slice = data.subarray(0, n);
      expect(crc32c(slice)).toBe(crc32cSlow(slice));
      const cut = Math.floor(n / 3);
      expect(crc32c(slice.subarray(cut), crc32c(slice.subarray(0, cut)))).toBe(crc32c(slice));
    }
  });
});

describe('crc32c native and portable', () => {
  it('the native instruction is in use on this machine, and agrees with the portable tables on random data and seeds', async () => {
    const { crc32cIsNative, crc32cPortable } = await import('./crc32c.ts');
    expect(crc32cIsNative).toBe(true);
    let x = 12345;
    for (let length = 0; length < 2000; length += 37) {
      const data = Uint8Array.from({ length }, () => (x = (x * 1103515245 + 12345) >>> 0) & 0xff);
      const seed = x >>> 3;
      expect(crc32c(data)).toBe(crc32cPortable(data));
      expect(crc32c(data, seed)).toBe(crc32cPortable(data, seed));
      expect(crc32c(data.subarray(5))).toBe(crc32cPortable(data.subarray(5)));
      // A plain Uint8Array view (no Buffer) inside a larger buffer: its offset and its length hold.
      expect(crc32c(data.subarray(7, Math.max(7, length - 3)))).toBe(crc32cPortable(data.subarray(7, Math.max(7, length - 3))));
    }
  });
});
