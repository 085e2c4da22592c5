import { LogError } from '../errors.ts';
import type { FileDisk } from './file-disk.ts';

/** A segment smaller than this holds too little to flip a byte inside a record. */
const CORRUPTIBLE_SEGMENT_BYTES_MIN = 64;

/**
 * Flips one byte inside a record of the newest segment (the fault "corrupt a byte"): the same
 * code for the embedded cluster, a node process and the supervisor acting on a stopped node's
 * directory. Takes effect (a CRC mismatch) at the node's next recovery.
 */
export function corruptNewestSegment(disk: FileDisk, nodeId: number, keepOpen: boolean): { file: string; position: number } {
  const segments = disk.list().filter((name) => name.startsWith('seg-')).sort();
  const newest = segments[segments.length - 1];
  if (newest === undefined) throw new LogError('Unavailable', `node ${nodeId} has no segment to corrupt yet`);
  const file = disk.open(newest);
  const size = file.size();
  if (!keepOpen) file.close();
  if (size < CORRUPTIBLE_SEGMENT_BYTES_MIN) throw new LogError('Unavailable', `node ${nodeId}'s newest segment is too small to corrupt`);
  // Past the first record's header, before the tail: a byte of a record, so its CRC fails.
  const position = Math.floor(size / 2);
  disk.corruptByte(newest, position);
  return { file: newest, position };
}
