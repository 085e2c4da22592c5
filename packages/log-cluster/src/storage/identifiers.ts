import { allocBytes } from '../bytes.ts';
import { invariant } from '../invariant.ts';
import type { FaultyTail } from '../raft/types.ts';
import { crc32c } from './crc32c.ts';
import type { Disk } from './types.ts';

/**
 * Record identifiers (after CTRL, FAST'18): for every ENTRIES record a segment receives, a small
 * checksummed identifier goes to the segment's companion file `seg-<seq>.ids` in the same flush
 * (both files are fdatasync'ed before any ack). Recovery reads them to tell a record that was
 * never acknowledged (no identifier: a torn write, cut) from one that was and is now damaged or
 * missing (identifier present: the entries are faulty, kept as a tail the replica must not forget).
 *
 * Identifier, little-endian, IDENTIFIER_BYTES: [u32 crc][u32 partition][u32 position][u32 length]
 * [u32 recordCrc][u64 firstIndex][u64 firstTerm][u64 lastIndex][u64 lastTerm]; crc covers the rest.
 */
export interface RecordIdentifier {
  readonly partition: number;
  /** Byte position of the record in its segment. */
  readonly position: number;
  readonly length: number;
  readonly recordCrc: number;
  readonly firstIndex: number;
  readonly firstTerm: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
}

export type { FaultyTail };

/** The identifier of an ENTRIES record of `partition` at `position`, from its first and last entries. */
export function recordIdentifier(
  partition: number,
  position: number,
  length: number,
  recordCrc: number,
  first: { readonly index: number; readonly term: number },
  last: { readonly index: number; readonly term: number },
): RecordIdentifier {
  return { partition, position, length, recordCrc, firstIndex: first.index, firstTerm: first.term, lastIndex: last.index, lastTerm: last.term };
}

export const IDENTIFIER_BYTES = 52;
const UINT32 = 0x1_0000_0000;
const FAULTY_MARKER_NAME = /^faulty-(\d+)-(\d+)-(\d+)-(\d+)-(\d+)\.marker$/;

export function identifiersFileName(segmentName: string): string {
  invariant(segmentName.endsWith('.log'), () => `not a segment name: ${segmentName}`);
  return `${segmentName.slice(0, -'.log'.length)}.ids`;
}

/** Little-endian u64 of a safe integer as two u32s (the journal's records use it too). */
export function putU64(view: DataView, at: number, value: number): void {
  invariant(Number.isSafeInteger(value) && value >= 0, `u64 field ${value}`);
  view.setUint32(at, value % UINT32, true);
  view.setUint32(at + 4, Math.floor(value / UINT32), true);
}

export function getU64(view: DataView, at: number): number {
  return view.getUint32(at + 4, true) * UINT32 + view.getUint32(at, true);
}

export function encodeIdentifiers(ids: readonly RecordIdentifier[], positionBase: number): Uint8Array {
  const out = allocBytes(ids.length * IDENTIFIER_BYTES);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  ids.forEach((id, k) => {
    const at = k * IDENTIFIER_BYTES;
    const position = positionBase + id.position;
    invariant(position < UINT32 && id.length < UINT32, () => `identifier position ${position} or length ${id.length} beyond u32`);
    view.setUint32(at + 4, id.partition, true);
    view.setUint32(at + 8, position, true);
    view.setUint32(at + 12, id.length, true);
    view.setUint32(at + 16, id.recordCrc, true);
    putU64(view, at + 20, id.firstIndex);
    putU64(view, at + 28, id.firstTerm);
    putU64(view, at + 36, id.lastIndex);
    putU64(view, at + 44, id.lastTerm);
    view.setUint32(at, crc32c(out.subarray(at + 4, at + IDENTIFIER_BYTES)), true);
  });
  return out;
}

/** The valid prefix of an identifiers file: a bad identifier ends it (a torn write of the file's own tail). */
export function decodeIdentifiers(bytes: Uint8Array): { ids: RecordIdentifier[]; validBytes: number } {
  const ids: RecordIdentifier[] = [];
  return { ids, validBytes: decodeIdentifiersFrom(bytes, 0, Infinity, ids).at };
}

/**
 * decodeIdentifiers a part at a time (a paced recovery: a segment's identifiers took 27 ms at
 * once): up to `count` identifiers from byte `at` into `ids`. Returns where it stopped, and `done`
 * once it reached the end or a bad identifier (`at` is then the valid bytes).
 */
export function decodeIdentifiersFrom(bytes: Uint8Array, at: number, count: number, ids: RecordIdentifier[]): { at: number; done: boolean } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let k = 0; k < count; k++) {
    if (at + IDENTIFIER_BYTES > bytes.length) return { at, done: true };
    if (crc32c(bytes.subarray(at + 4, at + IDENTIFIER_BYTES)) !== view.getUint32(at, true)) return { at, done: true };
    ids.push({
      partition: view.getUint32(at + 4, true),
      position: view.getUint32(at + 8, true),
      length: view.getUint32(at + 12, true),
      recordCrc: view.getUint32(at + 16, true),
      firstIndex: getU64(view, at + 20),
      firstTerm: getU64(view, at + 28),
      lastIndex: getU64(view, at + 36),
      lastTerm: getU64(view, at + 44),
    });
    at += IDENTIFIER_BYTES;
  }
  return { at, done: at + IDENTIFIER_BYTES > bytes.length };
}

/**
 * Per partition, the faulty tail that identifiers of lost records describe, in journal order: a
 * later record replaces the log from its first index, so the last one names the true end.
 */
export function faultyTails(lost: readonly RecordIdentifier[]): Map<number, FaultyTail> {
  const tails = new Map<number, FaultyTail>();
  for (const id of lost) {
    const tail = tails.get(id.partition);
    const first = tail === undefined || id.firstIndex <= tail.firstIndex ? { firstIndex: id.firstIndex, firstTerm: id.firstTerm } : tail;
    tails.set(id.partition, { firstIndex: first.firstIndex, firstTerm: first.firstTerm, lastIndex: id.lastIndex, lastTerm: id.lastTerm });
  }
  return tails;
}

/** Two tails of one partition (an earlier fault not yet repaired, and a new one): the widest, for safety. */
export function mergeFaultyTails(a: FaultyTail, b: FaultyTail): FaultyTail {
  const first = a.firstIndex <= b.firstIndex ? a : b;
  const last = a.lastTerm > b.lastTerm || (a.lastTerm === b.lastTerm && a.lastIndex >= b.lastIndex) ? a : b;
  return { firstIndex: first.firstIndex, firstTerm: first.firstTerm, lastIndex: last.lastIndex, lastTerm: last.lastTerm };
}

/**
 * A faulty tail is kept as an empty marker file whose name holds it: creating one is a single
 * durable step (truncate syncs the file and its directory entry) that recovery can take before it
 * cuts anything, and a damaged name would not parse, so it cannot be misread.
 */
export function faultyMarkerName(partition: number, tail: FaultyTail): string {
  return `faulty-${partition}-${tail.firstIndex}-${tail.firstTerm}-${tail.lastIndex}-${tail.lastTerm}.marker`;
}

export function parseFaultyMarker(name: string): { partition: number; tail: FaultyTail } | null {
  const match = FAULTY_MARKER_NAME.exec(name);
  if (match === null) return null;
  const [partition, firstIndex, firstTerm, lastIndex, lastTerm] = match.slice(1).map(Number) as [number, number, number, number, number];
  if (![partition, firstIndex, firstTerm, lastIndex, lastTerm].every(Number.isSafeInteger) || firstIndex > lastIndex || firstTerm > lastTerm) return null;
  return { partition, tail: { firstIndex, firstTerm, lastIndex, lastTerm } };
}

const START_MARKER_NAME = /^start-(\d+)-(\d+)-(\d+)\.marker$/;

/**
 * A partition whose log retention emptied (its start moved to its last entry) keeps that start in
 * an empty marker file too: the start record then is the only trace in the segments that the
 * partition held entries up to there, and records are not named by identifiers, so a storage fault
 * that took it would leave no sign that anything was lost (see Journal.recoverStartMarkers).
 */
/** An empty marker file (faulty tails, log starts, a node's abstention); truncate syncs the file and its new directory entry, so it is durable when this returns. */
export function writeMarker(disk: Disk, name: string): void {
  const file = disk.open(name);
  file.truncate(0);
  file.close();
}

export function startMarkerName(partition: number, index: number, term: number): string {
  return `start-${partition}-${index}-${term}.marker`;
}

export function parseStartMarker(name: string): { partition: number; index: number; term: number } | null {
  const match = START_MARKER_NAME.exec(name);
  if (match === null) return null;
  const [partition, index, term] = match.slice(1).map(Number) as [number, number, number];
  if (![partition, index, term].every(Number.isSafeInteger) || index < 1) return null;
  return { partition, index, term };
}

/**
 * The intact records that followed a lost one of the same partition (see Journal.salvageAfter) are
 * kept in a file whose name holds the lost record: its partition, entries and CRC.
 */
export function setAsideName(lost: RecordIdentifier): string {
  return `aside-${lost.partition}-${lost.firstIndex}-${lost.firstTerm}-${lost.lastIndex}-${lost.lastTerm}-${lost.recordCrc}.log`;
}

const SET_ASIDE_NAME = /^aside-(\d+)-(\d+)-(\d+)-(\d+)-(\d+)-(\d+)\.log$/;

export function parseSetAsideName(name: string): { partition: number; hole: FaultyTail; recordCrc: number } | null {
  const match = SET_ASIDE_NAME.exec(name);
  if (match === null) return null;
  const [partition, firstIndex, firstTerm, lastIndex, lastTerm, recordCrc] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  if (![partition, firstIndex, firstTerm, lastIndex, lastTerm, recordCrc].every(Number.isSafeInteger) || firstIndex > lastIndex || firstTerm > lastTerm || recordCrc > 0xffff_ffff) return null;
  return { partition, hole: { firstIndex, firstTerm, lastIndex, lastTerm }, recordCrc };
}
