import type { FaultyTail } from './identifiers.ts';

/**
 * The only I/O a node's storage does. Two implementations: real files with fdatasync
 * (storage/file-disk.ts) and the simulator's memory disk that models a crash
 * (storage/mem-disk.ts). Writes and syncs complete through callbacks so the simulator
 * decides when they complete; reads are synchronous (served from what was written,
 * like the page cache).
 */
export type IoCallback = (error: Error | null) => void;

export interface DiskFile {
  readonly name: string;
  /** Zero-filled ahead by Disk.openPreallocated (absent: a plain file). */
  readonly preallocated?: boolean;
  /** Bytes written so far (synced or not). */
  size(): number;
  /**
   * Bytes whose appends have completed (size() also counts appends still queued or in flight): what
   * reads may ask for. Optional: the memory disk completes appends only as the simulator says.
   */
  writtenSize?(): number;
  /**
   * Appends at the end; pieces are written contiguously in order (one writev). Fails with a
   * DiskFullError when the disk is full; nothing is written then.
   */
  append(data: Uint8Array | readonly Uint8Array[], done: IoCallback): void;
  /** fdatasync: when done is called without error, every byte appended before the call is durable. */
  sync(done: IoCallback): void;
  read(position: number, length: number): Uint8Array;
  /** Reads `length` bytes at `position` into the start of `target` (no new buffer: recovery reuses one). */
  readInto(position: number, target: Uint8Array, length: number): void;
  /**
   * readInto in the thread pool: the event loop does not wait for the device. `target` must not be
   * touched until `done`. A close() meanwhile waits for the read (its descriptor stays this file's)
   * and the read then fails. Optional: the memory disk reads synchronously.
   */
  readIntoAsync?(position: number, target: Uint8Array, length: number, done: IoCallback): void;
  /** Cuts the file to `length` bytes and makes the cut durable. */
  truncate(length: number): void;
  /**
   * Appends `data` and makes it durable before returning. Blocking: for recovery only, when the
   * file has no I/O in flight (it names records a crash left without identifiers, see Journal).
   */
  appendDurably(data: Uint8Array): void;
  /**
   * Gives back the zeros past `length` of a preallocated file that will take no more appends, in
   * the background and not synced: a crash that undoes it leaves zeros recovery reads as unused.
   * Optional (the memory disk preallocates nothing).
   */
  releaseZeros?(length: number): void;
  close(): void;
}

export interface Disk {
  /** Opens (creating when missing) a file of this disk's directory. */
  open(name: string): DiskFile;
  /**
   * Creates a new file already zero-filled to `bytes` on disk (prepared in the background), so
   * appends only overwrite and fdatasync never commits a size change; size() counts appended
   * bytes, not the zeros. Optional: without it (or before a prepared file is ready) open() is used.
   */
  openPreallocated?(name: string, bytes: number): DiskFile;
  /**
   * Whether openPreallocated(_, bytes) would get a zero-filled file now; when none is ready or being
   * prepared, starts preparing one.
   */
  preallocatedReady?(bytes: number): boolean;
  list(): string[];
  remove(name: string): void;
  /** Renames a closed file, durably (directory synced) before it returns; `to` must not exist. */
  rename(from: string, to: string): void;
  /** Bytes in use, for metrics and retention. */
  usedBytes(): number;
  /** Bytes still free for this directory (what appends may use), for alerts on a full disk. */
  freeBytes(): number;
}

/** ENOSPC: the write did not happen; the caller fails the appends that needed it. */
export class DiskFullError extends Error {
  override name = 'DiskFullError';
  readonly code = 'ENOSPC';
}

/**
 * A log read found a record on disk that is not what was written (bit rot, a misdirected write, a
 * bad sector since recovery): its CRC32C, its length or an entry header does not match. Nothing of
 * it is served; the node stops as it does on a failed flush, and its next recovery finds the record
 * and has what followed it repaired from the other replicas.
 */
export class CorruptReadError extends Error {
  override name = 'CorruptReadError';
  constructor(
    readonly file: string,
    readonly position: number,
    readonly partition: number,
    readonly index: number,
    what: string,
    /** A log read, or the scrub (which knows no entry: index -1). */
    readonly source: 'read' | 'scrub' = 'read',
  ) {
    // A scrub knows no entry (-1), and maybe no partition (-1: the record's length was bad).
    const where = partition < 0 ? '' : index < 0 ? ` (partition ${partition})` : ` (partition ${partition}, entry ${index})`;
    super(`corrupt record in ${file} at ${position}${where}: ${what}`);
  }
}

/**
 * The device failed a read the scrub issued (EIO: a latent sector error, a dying disk). Nothing was
 * served from it; the node stops as it does on a failed flush, and, the disk in doubt, is not
 * restarted by itself.
 */
export class DiskReadError extends Error {
  override name = 'DiskReadError';
  constructor(readonly file: string, readonly position: number, cause: Error) {
    super(`read of ${file} at ${position} failed: ${cause.message}`, { cause });
  }
}

/** What recovery found and did, for logs, metrics and the corrupted-segment drill. */
export interface RecoveryReport {
  readonly segmentsScanned: number;
  readonly recordsRecovered: number;
  /** Bytes cut from the tail: a torn write or a batch whose CRC32C did not match. */
  readonly truncatedBytes: number;
  /** Set when a CRC mismatch (not only a short tail) was found: which file, at which position. */
  readonly corruption: { readonly file: string; readonly position: number } | null;
  /**
   * Partitions holding acknowledged entries recovery could not read back (identifiers name them):
   * kept as faulty tails until a leader repairs them. Includes tails found by earlier recoveries.
   */
  readonly faulty: readonly { readonly partition: number; readonly tail: FaultyTail }[];
  /**
   * Corruption no identifier explains (identifiers off, or damage before the records they name): the
   * node cannot tell what it lost, so its replicas abstain from voting until they have caught up.
   */
  readonly uncertain: boolean;
  /**
   * Segments were found but no hard-state file: the terms and votes this node gave are gone (a
   * file deleted under it), so it could vote twice in one term. The node abstains as for `uncertain`.
   */
  readonly stateLost: boolean;
}
