import { LogError } from '../errors.ts';
import type { DiskFile } from './types.ts';
import type { FileDisk } from './file-disk.ts';

/** A segment smaller than this holds too little to flip a byte inside a record, or to cut. */
const CORRUPTIBLE_SEGMENT_BYTES_MIN = 64;
/** The tail cut by "cut the fsynced tail": a quarter of the data, at most this much. */
const CUT_BYTES_MAX = 16 << 10;
/** Bytes read per step while looking for the end of a preallocated segment's data. */
const SCAN_CHUNK_BYTES = 64 << 10;

/** The newest segment's name (identifier files `.ids` sit beside segments `.log`). */
function newestSegment(disk: FileDisk, nodeId: number, what: string): string {
  const segments = disk.list().filter((name) => name.startsWith('seg-') && name.endsWith('.log')).sort();
  const newest = segments[segments.length - 1];
  if (newest === undefined) throw new LogError('Unavailable', `node ${nodeId} has no segment to ${what} yet`);
  return newest;
}

/**
 * Where a segment's data ends. An open file's size counts appended bytes; a preallocated segment
 * reopened from its directory (a stopped node) is its full zero-filled length, so scan back from
 * the end to the last non-zero byte.
 */
function dataEnd(file: DiskFile): number {
  // A running node's file may have an append in flight: its bytes are not there to read yet.
  let end = file.writtenSize?.() ?? file.size();
  while (end > 0) {
    const from = Math.max(0, end - SCAN_CHUNK_BYTES);
    const chunk = file.read(from, end - from);
    for (let i = chunk.length - 1; i >= 0; i--) if (chunk[i] !== 0) return from + i + 1;
    end = from;
  }
  return 0;
}

/**
 * Flips one byte inside a record of the newest segment (the fault "corrupt a byte"): the same
 * code for the embedded cluster, a node process and the supervisor acting on a stopped node's
 * directory. Takes effect (a CRC mismatch) at the node's next recovery.
 */
export function corruptNewestSegment(disk: FileDisk, nodeId: number, keepOpen: boolean): { file: string; position: number } {
  const newest = newestSegment(disk, nodeId, 'corrupt');
  const file = disk.open(newest);
  const end = dataEnd(file);
  if (!keepOpen) file.close();
  if (end < CORRUPTIBLE_SEGMENT_BYTES_MIN) throw new LogError('Unavailable', `node ${nodeId}'s newest segment is too small to corrupt`);
  // Past the first record's header, before the tail: a byte of a record, so its CRC fails.
  const position = Math.floor(end / 2);
  disk.corruptByte(newest, position);
  return { file: newest, position };
}

/**
 * Cuts the fdatasync'ed tail of the newest segment, keeping its record identifiers (the fault "cut
 * the tail": acknowledged records gone, as after a lost write-back cache). Takes effect at the
 * node's next recovery, which must find them faulty, not torn.
 */
export function cutNewestSegmentTail(disk: FileDisk, nodeId: number, keepOpen: boolean): { file: string; cutBytes: number } {
  const newest = newestSegment(disk, nodeId, 'cut');
  const file = disk.open(newest);
  const end = dataEnd(file);
  if (end < CORRUPTIBLE_SEGMENT_BYTES_MIN) {
    if (!keepOpen) file.close();
    throw new LogError('Unavailable', `node ${nodeId}'s newest segment is too small to cut`);
  }
  // A quarter of the data, at most 16 KiB: the newest records, acknowledged by this replica.
  const cutBytes = Math.min(Math.floor(end / 4), CUT_BYTES_MAX);
  file.truncate(end - cutBytes);
  if (!keepOpen) file.close();
  return { file: newest, cutBytes };
}
