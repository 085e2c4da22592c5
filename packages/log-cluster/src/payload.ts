import { allocBytes } from './bytes.ts';
import { invariant } from './invariant.ts';

/**
 * The data of one log entry: a batch of records from one producer, tagged with the producer id
 * and sequence number that make retries idempotent.
 *
 * Layout (little-endian): u8 version | f64 producerId | u32 sequence | u32 count | count × (u32 length | bytes).
 */
const VERSION = 1;
const HEADER_BYTES = 1 + 8 + 4 + 4;
export const RECORD_BYTES_MAX = 1 << 20; // one record: 1 MiB
export const BATCH_BYTES_MAX = 4 << 20; // one entry: 4 MiB
export const BATCH_RECORDS_MAX = 65_536;
/**
 * Batches one producer may have in flight to one partition. The leader remembers this many of a
 * producer's newest committed batches, so a retry of any batch still in flight is answered from
 * memory rather than appended twice.
 */
export const PRODUCER_IN_FLIGHT_MAX = 4;

export interface BatchHeader {
  readonly producerId: number;
  readonly sequence: number;
  readonly count: number;
}

export function encodeBatch(producerId: number, sequence: number, records: readonly Uint8Array[]): Uint8Array {
  invariant(records.length > 0 && records.length <= BATCH_RECORDS_MAX, 'batch record count out of range');
  let size = HEADER_BYTES;
  for (const record of records) size += 4 + record.byteLength;
  invariant(size <= BATCH_BYTES_MAX + HEADER_BYTES + 4 * records.length, 'batch too large');
  // Pooled: a batch lives until its flush is durable; then the journal's cache holds a copy.
  const out = allocBytes(size);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint8(0, VERSION);
  view.setFloat64(1, producerId, true);
  view.setUint32(9, sequence >>> 0, true);
  view.setUint32(13, records.length, true);
  let position = HEADER_BYTES;
  for (const record of records) {
    view.setUint32(position, record.byteLength, true);
    out.set(record, position + 4);
    position += 4 + record.byteLength;
  }
  return out;
}

export function batchBytes(records: readonly Uint8Array[]): number {
  let size = HEADER_BYTES;
  for (const record of records) size += 4 + record.byteLength;
  return size;
}

/** Header of an entry's data; null for a leader's no-op (empty data). */
export function decodeHeader(data: Uint8Array): BatchHeader | null {
  if (data.byteLength === 0) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  checkHeaderAt(view, 0, data.byteLength);
  return { producerId: batchProducerId(view, 0), sequence: batchSequence(view, 0), count: view.getUint32(13, true) };
}

/**
 * The header of entry data at `at` of `view` (`length` bytes, not 0), read in place: a recovery
 * reads every entry's, and an object and a view each cost it 14 % more.
 */
export function checkHeaderAt(view: DataView, at: number, length: number): void {
  invariant(length >= HEADER_BYTES && view.getUint8(at) === VERSION, 'entry data is not a record batch');
}

export function batchProducerId(view: DataView, at: number): number {
  return view.getFloat64(at + 1, true);
}

export function batchSequence(view: DataView, at: number): number {
  return view.getUint32(at + 9, true);
}

export function decodeRecords(data: Uint8Array): Uint8Array[] {
  const header = decodeHeader(data);
  if (header === null) return [];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const records: Uint8Array[] = [];
  let position = HEADER_BYTES;
  for (let i = 0; i < header.count; i++) {
    const length = view.getUint32(position, true);
    invariant(position + 4 + length <= data.byteLength, 'record runs past the end of its batch');
    records.push(data.subarray(position + 4, position + 4 + length));
    position += 4 + length;
  }
  return records;
}
