import * as fs from 'node:fs';
import * as path from 'node:path';
import { invariant } from '../invariant.ts';
import { DiskFullError, type Disk, type DiskFile, type IoCallback } from './types.ts';

/** Files being preallocated are named `<prefix><n>.tmp`; leftovers of an earlier process are removed. */
export const SPARE_PREFIX = 'preallocating-';
/**
 * Zeros written per step while preallocating, each write durable when it completes (O_DSYNC): the
 * journal's own writes then never wait behind more than one chunk on the device. Flushing 8 MiB of
 * zeros at a time (the first version) stalled every node's flush together for 90–130 ms; with
 * 256 KiB chunks, three zero-filling writers still took three 800/s flush loops' p99 on this disk
 * from 1.0 to 2.4–3.1 ms; with 64 KiB chunks to 1.7–1.9 ms, at full pace or at a sixth of it alike
 * (so zeros go at full pace, and the spare is ready sooner).
 */
const PREALLOCATE_CHUNK_BYTES = 64 << 10;
/** A spare segment is prepared only while free space is at least this many segments. */
const PREALLOCATE_FREE_FACTOR = 3;
/** Pause between preallocation steps: the zero-fill takes a fraction of the device (about 50 MB/s), never all of it. */
const PREALLOCATE_PAUSE_MS = 1;

interface SpareFile {
  readonly name: string;
  readonly bytes: number;
  fd: number | null;
  ready: boolean;
}

/**
 * The real disk: one directory, files written with positioned async writes, each durable when it
 * completes (O_DSYNC, see WRITE_FLAGS). Operations on one file run one at a time in call order, so
 * a sync issued right after an append finds it durable (and syncs a new file's directory entry).
 */
export class FileDisk implements Disk {
  /** Fault hook "slow disk": added before every sync completes. */
  fsyncDelayMs = 0;
  /** Fault hook "disk full": appends that would take usage past this fail with DiskFullError. */
  capacityBytes = Number.POSITIVE_INFINITY;

  private readonly files = new Map<string, RealFile>();
  /** Per file, the bytes a completed fdatasync made durable (what a power cut keeps). */
  private readonly syncedBytes = new Map<string, number>();
  /**
   * The next preallocated file of each size, zero-filled in the background (at most one per size:
   * the journal asks for two, segments and their identifier files).
   */
  private readonly spares = new Map<number, SpareFile>();
  private spareSeq = 0;
  /** Spare fills under way and spare removals not yet done: what dropSpares waits for. */
  private spareWork = 0;
  private spareWorkWaiters: (() => void)[] = [];
  /** Files closed while an operation of theirs ran: their descriptors close once it ends. */
  private closing = 0;
  private settledWaiters: (() => void)[] = [];

  constructor(readonly directory: string) {
    fs.mkdirSync(directory, { recursive: true });
    // A half-prepared file of a crashed process: not worth resuming (a new one is made when needed).
    for (const name of fs.readdirSync(directory)) if (name.startsWith(SPARE_PREFIX)) fs.rmSync(path.join(directory, name), { force: true });
  }

  openPreallocated(name: string, bytes: number): DiskFile {
    checkName(name);
    invariant(!this.files.has(name), () => `openPreallocated: ${name} is open`);
    const spare = this.spares.get(bytes);
    if (spare === undefined || !spare.ready || spare.fd === null) {
      if (spare === undefined) this.prepareSpare(bytes);
      return this.open(name);
    }
    this.spares.delete(bytes);
    const file = new RealFile(this, name, spare.fd, 0, true);
    // Renamed off the event loop, before anything else runs on the file; the next sync makes the name durable.
    file.adoptFrom(path.join(this.directory, spare.name), path.join(this.directory, name));
    file.directoryEntryPending = true;
    this.files.set(name, file);
    this.syncedBytes.set(name, 0);
    this.prepareSpare(bytes);
    return file;
  }

  preallocatedReady(bytes: number): boolean {
    if (!this.spares.has(bytes)) this.prepareSpare(bytes);
    return this.spares.get(bytes)?.ready === true;
  }

  /**
   * The disk's owner is done with it (the cluster stops): a spare being zero-filled stops at its
   * next step, a ready one is removed. Without this a stopped cluster went on writing up to 72 MiB
   * of zeros per node, taking the device from whatever ran next in the process.
   */
  dropSpares(): Promise<void> {
    for (const spare of this.spares.values()) {
      if (!spare.ready || spare.fd === null) continue; // a running fill abandons itself once it is no longer listed
      fs.close(spare.fd, () => undefined);
      spare.fd = null;
      this.spareWork++;
      fs.rm(path.join(this.directory, spare.name), { force: true }, () => this.spareWorkDone());
    }
    this.spares.clear();
    // Resolves once no fill or removal of a spare is left to touch the directory (a fill's open,
    // still in the thread pool, created its file after a test had emptied the directory).
    return this.spareWork === 0 ? Promise.resolve() : new Promise((resolve) => this.spareWorkWaiters.push(resolve));
  }

  private spareWorkDone(): void {
    this.spareWork--;
    if (this.spareWork > 0) return;
    const waiters = this.spareWorkWaiters;
    this.spareWorkWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Zero-fills a new spare file in the background: paced writes, flushed as it goes, then its directory entry. */
  private prepareSpare(bytes: number): void {
    invariant(!this.spares.has(bytes), () => `a spare of ${bytes} bytes is already being prepared`);
    // On a nearly full disk the zeros would take the space appends need (and fill it for nothing):
    // preallocate only with room for the spare and as much again besides.
    if (this.freeBytes() < bytes * PREALLOCATE_FREE_FACTOR) return;
    const spare: SpareFile = { name: `${SPARE_PREFIX}${++this.spareSeq}.tmp`, bytes, fd: null, ready: false };
    this.spares.set(bytes, spare);
    this.spareWork++; // until the fill is ready or abandoned (its file removed)
    const abandon = (): void => {
      if (this.spares.get(bytes) === spare) this.spares.delete(bytes);
      if (spare.fd !== null) fs.close(spare.fd, () => undefined);
      spare.fd = null;
      fs.rm(path.join(this.directory, spare.name), { force: true }, () => this.spareWorkDone());
    };
    fs.open(path.join(this.directory, spare.name), WRITE_FLAGS | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644, (openError, fd) => {
      if (openError !== null) return abandon();
      spare.fd = fd;
      const zeros = Buffer.alloc(PREALLOCATE_CHUNK_BYTES);
      let written = 0;
      const step = (): void => {
        if (this.spares.get(bytes) !== spare) return abandon();
        if (written >= bytes) {
          // Every write is durable already (O_DSYNC, the descriptor the journal will append through); now the name.
          this.syncDirectoryAsync((directoryError) => {
            if (directoryError !== null) return abandon();
            // Dropped while its name was synced: it goes like any fill that is no longer listed.
            if (this.spares.get(bytes) !== spare) return abandon();
            spare.ready = true;
            this.spareWorkDone();
          });
          return;
        }
        const length = Math.min(PREALLOCATE_CHUNK_BYTES, bytes - written);
        fs.write(fd, zeros, 0, length, written, (writeError, n) => {
          if (writeError !== null) return abandon();
          written += n;
          setTimeout(step, PREALLOCATE_PAUSE_MS);
        });
      };
      step();
    });
  }

  open(name: string): DiskFile {
    checkName(name);
    const existing = this.files.get(name);
    if (existing !== undefined) return existing;
    const filePath = path.join(this.directory, name);
    const created = !fs.existsSync(filePath);
    const fd = fs.openSync(filePath, WRITE_FLAGS | fs.constants.O_CREAT, 0o644);
    const file = new RealFile(this, name, fd, fs.fstatSync(fd).size);
    this.files.set(name, file);
    if (!this.syncedBytes.has(name)) this.syncedBytes.set(name, file.size());
    // A new directory entry is only durable once the directory itself is synced. The file's first
    // sync (or truncate) does it, off the event loop: a blocking directory fsync at every segment
    // roll stalled every partition of the node for up to tens of milliseconds.
    if (created) file.directoryEntryPending = true;
    return file;
  }

  list(): string[] {
    return fs
      .readdirSync(this.directory, { withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name)
      .sort();
  }

  remove(name: string): void {
    checkName(name);
    const file = this.files.get(name);
    if (file !== undefined) file.close();
    fs.rmSync(path.join(this.directory, name), { force: true });
    // A removal that a crash undoes is harmless (the journal recorded the new log start first): sync the directory in the background.
    this.syncDirectoryAsync(() => undefined);
  }

  rename(from: string, to: string): void {
    checkName(from);
    checkName(to);
    invariant(!this.files.has(from) && !this.files.has(to), () => `rename ${from} → ${to}: a file is open`);
    invariant(!fs.existsSync(path.join(this.directory, to)), () => `rename ${from} → ${to}: ${to} exists`);
    fs.renameSync(path.join(this.directory, from), path.join(this.directory, to));
    this.syncDirectory();
  }

  usedBytes(): number {
    let bytes = 0;
    for (const name of this.list()) {
      const open = this.files.get(name);
      bytes += open !== undefined ? open.size() : fs.statSync(path.join(this.directory, name)).size;
    }
    return bytes;
  }

  freeBytes(): number {
    const stats = fs.statfsSync(this.directory);
    const free = stats.bavail * stats.bsize;
    return Number.isFinite(this.capacityBytes) ? Math.max(0, Math.min(free, this.capacityBytes - this.usedBytes())) : free;
  }

  /** Fault hook "corrupted segment": flips every bit of one byte, in place and durably. */
  corruptByte(name: string, position: number): void {
    flipByte(path.join(this.directory, name), position);
  }

  /**
   * Fault hook "power cut": after the node using this disk stopped, cuts every file back to what
   * its last completed fdatasync covered. A process crash alone keeps the page cache; this does not.
   */
  dropUnsynced(): void {
    for (const [name, synced] of this.syncedBytes) {
      const filePath = path.join(this.directory, name);
      if (!fs.existsSync(filePath)) continue;
      if (fs.statSync(filePath).size > synced) fs.truncateSync(filePath, synced);
    }
    this.syncedBytes.clear();
  }

  /** @internal */
  noteSynced(name: string, bytes: number): void {
    this.syncedBytes.set(name, Math.max(bytes, 0));
  }

  /**
   * Resolves once no closed file has an operation still running (after a crash closed files with
   * writes in the thread pool). A power cut's `dropUnsynced` must wait for it: a write that ends
   * after the cut would put bytes back.
   */
  settled(): Promise<void> {
    if (this.closing === 0) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  /** @internal A file closed with an operation running: see settled(). */
  closeDeferred(): void {
    this.closing++;
  }

  /** @internal That operation ended and the descriptor is closed. */
  closeDone(): void {
    this.closing--;
    if (this.closing > 0) return;
    const waiters = this.settledWaiters;
    this.settledWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** @internal */
  forget(file: RealFile): void {
    if (this.files.get(file.name) === file) this.files.delete(file.name);
  }

  /** @internal fsync of the directory, in the thread pool. */
  syncDirectoryAsync(done: IoCallback): void {
    fs.open(this.directory, 'r', (openError, fd) => {
      if (openError !== null) return done(openError);
      fs.fsync(fd, (syncError) => fs.close(fd, () => done(syncError)));
    });
  }

  /** @internal */
  syncDirectory(): void {
    const fd = fs.openSync(this.directory, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}

function checkName(name: string): void {
  invariant(name.length > 0 && !name.includes('/') && !name.includes('\\') && name !== '.' && name !== '..', () => `bad file name ${JSON.stringify(name)}`);
}

type Operation = (next: () => void) => void;

/**
 * O_DSYNC: each write returns once its data (and the size, when it grew) is durable, so an append
 * and its sync are one thread-pool round trip and one syscall instead of two each (the journal's
 * flush measured about a third shorter at 1 000 appends/s over TCP). Not O_APPEND: Linux ignores the write
 * position with it, and positions are tracked here.
 */
const WRITE_FLAGS = fs.constants.O_RDWR | fs.constants.O_DSYNC;

class RealFile implements DiskFile {
  /** Created but its directory entry not yet synced: the next sync or truncate does it. */
  directoryEntryPending = false;
  /** Bytes on the file once every queued append has run (what size() promises). */
  private sizeBytes: number;
  /** Bytes actually written to the file descriptor. */
  private writtenBytes: number;
  private readonly queue: Operation[] = [];
  private running = false;
  private closed = false;
  /** Reads in the thread pool (readIntoAsync): a close waits for them too. */
  private readsInFlight = 0;
  /** Closed while an operation or a read still used the descriptor: the last of them closes it. */
  private closePending = false;
  /** A preallocated file whose rename failed: every later operation fails with this. */
  private adoptError: Error | null = null;

  constructor(
    private readonly disk: FileDisk,
    readonly name: string,
    private readonly fd: number,
    initialBytes: number,
    readonly preallocated = false,
  ) {
    this.sizeBytes = initialBytes;
    this.writtenBytes = initialBytes;
  }

  size(): number {
    return this.sizeBytes;
  }

  writtenSize(): number {
    return this.writtenBytes;
  }

  /** @internal This file was preallocated under another name: rename it before any other operation runs. */
  adoptFrom(fromPath: string, toPath: string): void {
    this.enqueue((next) => {
      fs.rename(fromPath, toPath, (error) => {
        this.adoptError = error;
        next();
      });
    });
  }

  append(data: Uint8Array | readonly Uint8Array[], done: IoCallback): void {
    invariant(!this.closed, `append to closed file ${this.name}`);
    const pieces = data instanceof Uint8Array ? [data] : data;
    let length = 0;
    for (const piece of pieces) length += piece.length;
    // Listing the directory costs a syscall per file, so only when a capacity is set.
    if (Number.isFinite(this.disk.capacityBytes) && this.disk.usedBytes() + length > this.disk.capacityBytes) {
      setImmediate(() => done(new DiskFullError(`disk full: ${this.name} +${length} bytes`)));
      return;
    }
    this.sizeBytes += length;
    this.enqueue((next) => {
      if (this.adoptError !== null) {
        next();
        return done(this.adoptError);
      }
      const position = this.writtenBytes;
      writeAll(this.fd, pieces, length, position, (error) => {
        if (error === null) {
          this.writtenBytes += length;
        } else {
          // Undo a partial write so the file ends where the caller believes it does (not after a
          // crash closed the file: what it left is for recovery to judge).
          this.sizeBytes -= length;
          if (!this.closed) {
            try {
              fs.ftruncateSync(this.fd, position);
            } catch {
              // The original error is what the caller needs.
            }
          }
        }
        next();
        done(error !== null && isNoSpace(error) ? new DiskFullError(error.message) : error);
      });
    });
  }

  sync(done: IoCallback): void {
    invariant(!this.closed, `sync of closed file ${this.name}`);
    this.enqueue((next) => {
      if (this.adoptError !== null) {
        next();
        return done(this.adoptError);
      }
      // Operations run in order: everything written so far is what this sync covers.
      const coveredBytes = this.writtenBytes;
      // Every completed write is durable already (O_DSYNC); only a new name may still need its directory synced.
      if (!this.directoryEntryPending) return this.syncDone(coveredBytes, next, done, null);
      fs.fdatasync(this.fd, (error) => {
        if (error !== null || !this.directoryEntryPending) return this.syncDone(coveredBytes, next, done, error);
        this.disk.syncDirectoryAsync((directoryError) => {
          if (directoryError === null) this.directoryEntryPending = false;
          this.syncDone(coveredBytes, next, done, directoryError);
        });
      });
    });
  }

  /** A sync ended: `coveredBytes` are durable unless it failed; the next operation may run. */
  private syncDone(coveredBytes: number, next: () => void, done: IoCallback, error: Error | null): void {
    if (error === null && !this.closed) this.disk.noteSynced(this.name, coveredBytes);
    next();
    const delayMs = this.disk.fsyncDelayMs;
    if (delayMs > 0) setTimeout(() => done(error), delayMs);
    else done(error);
  }

  read(position: number, length: number): Uint8Array {
    const buffer = new Uint8Array(length);
    this.readInto(position, buffer, length);
    return buffer;
  }

  readInto(position: number, target: Uint8Array, length: number): void {
    this.checkRead(position, target, length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, target, done, length - done, position + done);
      invariant(n > 0, `short read of ${this.name}`);
      done += n;
    }
  }

  /** What a read (blocking or not) may ask for: an open file's written bytes, into room enough. */
  private checkRead(position: number, target: Uint8Array, length: number): void {
    invariant(!this.closed, `read of closed file ${this.name}`);
    invariant(position >= 0 && position + length <= this.writtenBytes, () => `read [${position}, ${position + length}) beyond written ${this.writtenBytes} of ${this.name}`);
    invariant(length <= target.length, () => `read of ${length} bytes into ${target.length}`);
  }

  readIntoAsync(position: number, target: Uint8Array, length: number, done: IoCallback): void {
    this.checkRead(position, target, length);
    this.readsInFlight++;
    readAll(this.fd, target, 0, length, position, (error) => {
      this.readsInFlight--;
      this.finishClose();
      if (error === null && this.closed) return done(new Error(`${this.name} was closed during a read`));
      done(error);
    });
  }

  truncate(length: number): void {
    // A read in flight is of durable bytes, which no truncate of a running node's file cuts.
    invariant(!this.closed && !this.running && this.queue.length === 0, `truncate of ${this.name} with I/O in flight`);
    invariant(length >= 0 && length <= this.sizeBytes, `truncate of ${this.name} to ${length} > size ${this.sizeBytes}`);
    fs.ftruncateSync(this.fd, length);
    this.syncNow(length);
  }

  appendDurably(data: Uint8Array): void {
    invariant(!this.closed && !this.running && this.queue.length === 0, `appendDurably to ${this.name} with I/O in flight`);
    let written = 0;
    while (written < data.length) written += fs.writeSync(this.fd, data, written, data.length - written, this.sizeBytes + written);
    this.syncNow(this.sizeBytes + data.length);
  }

  /** Blocking fdatasync (and the directory entry, once) after a blocking change left the file `length` bytes long. */
  private syncNow(length: number): void {
    fs.fdatasyncSync(this.fd);
    if (this.directoryEntryPending) {
      this.disk.syncDirectory();
      this.directoryEntryPending = false;
    }
    this.disk.noteSynced(this.name, length);
    this.sizeBytes = length;
    this.writtenBytes = length;
  }

  releaseZeros(length: number): void {
    invariant(!this.closed && length === this.sizeBytes, `releaseZeros of ${this.name} at ${length}, not at its end ${this.sizeBytes}`);
    // Queued behind any append still running, so it never cuts one.
    this.enqueue((next) => fs.ftruncate(this.fd, length, () => next()));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.disk.forget(this);
    // A write (or a read) in the thread pool still uses the descriptor: closed now, its number could
    // go to the next file opened, and the write (a crashed node's) would land in that file, or the
    // read would read it. Close once the last of them ends.
    if (this.running || this.readsInFlight > 0) {
      this.closePending = true;
      this.disk.closeDeferred();
    } else {
      fs.closeSync(this.fd);
    }
  }

  /** The deferred close, once nothing in the thread pool uses the descriptor. */
  private finishClose(): void {
    if (!this.closePending || this.running || this.readsInFlight > 0) return;
    this.closePending = false;
    fs.close(this.fd, () => this.disk.closeDone());
  }

  private enqueue(operation: Operation): void {
    this.queue.push(operation);
    if (!this.running) this.runNext();
  }

  private runNext(): void {
    if (this.closed) {
      this.running = false;
      this.finishClose();
      return;
    }
    const operation = this.queue.shift();
    if (operation === undefined) {
      this.running = false;
      return;
    }
    this.running = true;
    operation(() => this.runNext());
  }
}

/**
 * writev of all pieces at `position`; a short write continues with what is left. A module function
 * calling itself, not a closure per write: under tsx (esbuild keepNames) a named closure costs a
 * name definition each time it is made.
 */
function writeAll(fd: number, pieces: readonly Uint8Array[], length: number, position: number, done: (error: NodeJS.ErrnoException | null) => void): void {
  fs.writev(fd, pieces as Uint8Array[], position, (error, n) => {
    if (error !== null) return done(error);
    if (n >= length) return done(null);
    // Drop the pieces written in full and the written head of the next one.
    let skip = n;
    const rest: Uint8Array[] = [];
    for (const piece of pieces) {
      if (skip >= piece.length) {
        skip -= piece.length;
        continue;
      }
      rest.push(skip > 0 ? piece.subarray(skip) : piece);
      skip = 0;
    }
    writeAll(fd, rest, length - n, position + n, done);
  });
}

/**
 * Flips every bit of the byte at `position` of the file at `filePath`, durably (fault injection).
 * Also for a directory a FileDisk is open on: a second FileDisk would remove that one's spares.
 */
export function flipByte(filePath: string, position: number): void {
  const fd = fs.openSync(filePath, 'r+');
  try {
    const byte = Buffer.alloc(1);
    invariant(fs.readSync(fd, byte, 0, 1, position) === 1, `corruptByte: ${path.basename(filePath)} has no byte at ${position}`);
    byte[0] = byte[0]! ^ 0xff;
    fs.writeSync(fd, byte, 0, 1, position);
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** pread until `length` bytes are in `target` from `at` (a module function calling itself: see writeAll). */
function readAll(fd: number, target: Uint8Array, at: number, length: number, position: number, done: (error: Error | null) => void): void {
  fs.read(fd, target, at, length - at, position + at, (error, n) => {
    if (error !== null) return done(error);
    if (n === 0) return done(new Error(`short read at ${position + at}`));
    if (at + n >= length) return done(null);
    readAll(fd, target, at + n, length, position, done);
  });
}

function isNoSpace(error: NodeJS.ErrnoException): boolean {
  return error.code === 'ENOSPC' || error.code === 'EDQUOT';
}
