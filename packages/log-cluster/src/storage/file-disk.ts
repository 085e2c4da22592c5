import * as fs from 'node:fs';
import * as path from 'node:path';
import { invariant } from '../invariant.ts';
import { DiskFullError, type Disk, type DiskFile, type IoCallback } from './types.ts';

/**
 * The real disk: one directory, files written with positioned async writes and made durable
 * with fdatasync. Operations on one file run one at a time in call order, so a sync issued right
 * after an append covers it (fdatasync only covers writes that have completed).
 */
export class FileDisk implements Disk {
  /** Fault hook "slow disk": added before every sync completes. */
  fsyncDelayMs = 0;
  /** Fault hook "disk full": appends that would take usage past this fail with DiskFullError. */
  capacityBytes = Number.POSITIVE_INFINITY;

  private readonly files = new Map<string, RealFile>();
  /** Per file, the bytes a completed fdatasync made durable (what a power cut keeps). */
  private readonly syncedBytes = new Map<string, number>();

  constructor(readonly directory: string) {
    fs.mkdirSync(directory, { recursive: true });
  }

  open(name: string): DiskFile {
    checkName(name);
    const existing = this.files.get(name);
    if (existing !== undefined) return existing;
    const filePath = path.join(this.directory, name);
    const created = !fs.existsSync(filePath);
    // Not O_APPEND: Linux ignores the write position with it, and positions are tracked here.
    const fd = fs.openSync(filePath, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    const file = new RealFile(this, name, fd, fs.fstatSync(fd).size);
    this.files.set(name, file);
    if (!this.syncedBytes.has(name)) this.syncedBytes.set(name, file.size());
    // A new directory entry is only durable once the directory itself is synced.
    if (created) this.syncDirectory();
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

  /** Fault hook "corrupted segment": flips every bit of one byte, in place and durably. */
  corruptByte(name: string, position: number): void {
    const fd = fs.openSync(path.join(this.directory, name), 'r+');
    try {
      const byte = Buffer.alloc(1);
      invariant(fs.readSync(fd, byte, 0, 1, position) === 1, `corruptByte: ${name} has no byte at ${position}`);
      byte[0] = byte[0]! ^ 0xff;
      fs.writeSync(fd, byte, 0, 1, position);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
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

  /** @internal */
  forget(file: RealFile): void {
    if (this.files.get(file.name) === file) this.files.delete(file.name);
  }

  private syncDirectory(): void {
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

class RealFile implements DiskFile {
  /** Bytes on the file once every queued append has run (what size() promises). */
  private sizeBytes: number;
  /** Bytes actually written to the file descriptor. */
  private writtenBytes: number;
  private readonly queue: Operation[] = [];
  private running = false;
  private closed = false;

  constructor(
    private readonly disk: FileDisk,
    readonly name: string,
    private readonly fd: number,
    initialBytes: number,
  ) {
    this.sizeBytes = initialBytes;
    this.writtenBytes = initialBytes;
  }

  size(): number {
    return this.sizeBytes;
  }

  append(data: Uint8Array, done: IoCallback): void {
    invariant(!this.closed, `append to closed file ${this.name}`);
    // Listing the directory costs a syscall per file, so only when a capacity is set.
    if (Number.isFinite(this.disk.capacityBytes) && this.disk.usedBytes() + data.length > this.disk.capacityBytes) {
      setImmediate(() => done(new DiskFullError(`disk full: ${this.name} +${data.length} bytes`)));
      return;
    }
    this.sizeBytes += data.length;
    this.enqueue((next) => {
      const position = this.writtenBytes;
      writeAll(this.fd, data, position, (error) => {
        if (error === null) {
          this.writtenBytes += data.length;
        } else {
          // Undo a partial write so the file ends where the caller believes it does.
          this.sizeBytes -= data.length;
          try {
            fs.ftruncateSync(this.fd, position);
          } catch {
            // The original error is what the caller needs.
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
      // Operations run in order: everything written so far is what this sync covers.
      const coveredBytes = this.writtenBytes;
      fs.fdatasync(this.fd, (error) => {
        if (error === null && !this.closed) this.disk.noteSynced(this.name, coveredBytes);
        next();
        const delayMs = this.disk.fsyncDelayMs;
        if (delayMs > 0) setTimeout(() => done(error), delayMs);
        else done(error);
      });
    });
  }

  read(position: number, length: number): Uint8Array {
    invariant(!this.closed, `read of closed file ${this.name}`);
    invariant(position >= 0 && position + length <= this.writtenBytes, () => `read [${position}, ${position + length}) beyond written ${this.writtenBytes} of ${this.name}`);
    const buffer = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, buffer, done, length - done, position + done);
      invariant(n > 0, `short read of ${this.name}`);
      done += n;
    }
    return buffer;
  }

  truncate(length: number): void {
    invariant(!this.closed && !this.running && this.queue.length === 0, `truncate of ${this.name} with I/O in flight`);
    invariant(length >= 0 && length <= this.sizeBytes, `truncate of ${this.name} to ${length} > size ${this.sizeBytes}`);
    fs.ftruncateSync(this.fd, length);
    fs.fdatasyncSync(this.fd);
    this.disk.noteSynced(this.name, length);
    this.sizeBytes = length;
    this.writtenBytes = length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    fs.closeSync(this.fd);
    this.disk.forget(this);
  }

  private enqueue(operation: Operation): void {
    this.queue.push(operation);
    if (!this.running) this.runNext();
  }

  private runNext(): void {
    const operation = this.queue.shift();
    if (operation === undefined || this.closed) {
      this.running = false;
      return;
    }
    this.running = true;
    operation(() => this.runNext());
  }
}

function writeAll(fd: number, data: Uint8Array, position: number, done: (error: NodeJS.ErrnoException | null) => void): void {
  let written = 0;
  const step = (): void => {
    fs.write(fd, data, written, data.length - written, position + written, (error, n) => {
      if (error !== null) return done(error);
      written += n;
      if (written < data.length) step();
      else done(null);
    });
  };
  step();
}

function isNoSpace(error: NodeJS.ErrnoException): boolean {
  return error.code === 'ENOSPC' || error.code === 'EDQUOT';
}
