import { invariant } from '../invariant.ts';
import { DiskFullError, type Disk, type DiskFile, type IoCallback } from './types.ts';

export interface MemDiskOptions {
  /** Deterministic randomness in [0, 1): which crash outcome happens. */
  readonly random: () => number;
  /** The simulator's clock: every callback is delivered through it, never synchronously. */
  readonly schedule: (delayMs: number, fn: () => void) => void;
  readonly fsyncLatencyMs?: () => number;
  readonly writeLatencyMs?: () => number;
  /**
   * Whether files read in the background too (readIntoAsync), delivered through `schedule` after
   * readLatencyMs: the journal's background reads and the scrub then take that path.
   */
  readonly asyncReads?: boolean;
  readonly readLatencyMs?: () => number;
}

/** Chance that a crash keeps a torn prefix of a file's unsynced bytes (else they all vanish). */
const CRASH_TORN_PREFIX_PROBABILITY = 0.5;
/** Chance that a crash leaves garbage after what survived of a file's unsynced bytes. */
const CRASH_GARBAGE_TAIL_PROBABILITY = 0.1;
/** At most this much garbage: about one sector. */
const CRASH_GARBAGE_TAIL_BYTES_MAX = 512;
const FILE_CAPACITY_BYTES_INITIAL = 4096;

interface MemFileState {
  data: Uint8Array;
  /** Bytes written (the page cache); reads see them. */
  writtenBytes: number;
  /** Bytes a completed sync made durable; a crash keeps at least these. */
  syncedBytes: number;
}

/**
 * The simulator's disk: files in memory, latencies and crash outcomes drawn from the seeded
 * random source. crash() is power loss: unsynced bytes are lost (maybe torn), and callbacks in
 * flight are never delivered, as the process that would receive them is gone.
 */
export class MemDisk implements Disk {
  fsyncDelayMs = 0;
  capacityBytes = Number.POSITIVE_INFINITY;

  private readonly states = new Map<string, MemFileState>();
  private readonly handles = new Map<string, MemFile>();
  /** Bumped by crash(): callbacks scheduled in an older epoch are dropped. */
  private epoch = 0;

  constructor(private readonly options: MemDiskOptions) {}

  open(name: string): DiskFile {
    invariant(name.length > 0 && !name.includes('/'), () => `bad file name ${JSON.stringify(name)}`);
    const handle = this.handles.get(name);
    if (handle !== undefined) return handle;
    let state = this.states.get(name);
    if (state === undefined) {
      state = { data: new Uint8Array(FILE_CAPACITY_BYTES_INITIAL), writtenBytes: 0, syncedBytes: 0 };
      this.states.set(name, state);
    }
    const file = new MemFile(this, name, state, this.epoch);
    this.handles.set(name, file);
    return file;
  }

  list(): string[] {
    return [...this.states.keys()].sort();
  }

  remove(name: string): void {
    this.handles.get(name)?.close();
    this.states.delete(name);
  }

  /** Durable at once: the simulator's crashes keep a rename. */
  rename(from: string, to: string): void {
    const state = this.states.get(from);
    invariant(state !== undefined && !this.handles.has(from) && !this.handles.has(to) && !this.states.has(to), () => `rename ${from} → ${to}: missing, open or taken`);
    this.states.delete(from);
    this.states.set(to, state);
  }

  usedBytes(): number {
    let bytes = 0;
    for (const state of this.states.values()) bytes += state.writtenBytes;
    return bytes;
  }

  freeBytes(): number {
    return Number.isFinite(this.capacityBytes) ? Math.max(0, this.capacityBytes - this.usedBytes()) : Number.MAX_SAFE_INTEGER;
  }

  /** A copy of `length` bytes of `name` from `position`, read without opening it (a running node's file stays as it is). */
  peek(name: string, position: number, length: number): Uint8Array {
    const state = this.states.get(name);
    invariant(state !== undefined && position + length <= state.writtenBytes, () => `peek past the end of ${name}`);
    return state.data.slice(position, position + length);
  }

  /** Bytes of `name` that would survive a crash now (for tests). */
  syncedBytes(name: string): number {
    return this.states.get(name)?.syncedBytes ?? 0;
  }

  /**
   * Each file's synced bytes: what a crash now would leave, taken while the node runs (a backup, a
   * disk snapshot). restore() puts them back later: the simulator's rollbackDisk fault.
   */
  snapshot(): Map<string, Uint8Array> {
    const image = new Map<string, Uint8Array>();
    for (const [name, state] of this.states) image.set(name, state.data.slice(0, state.syncedBytes));
    return image;
  }

  /** Replaces every file by `image` (from snapshot()), durably; the node must be down (no open file). */
  restore(image: ReadonlyMap<string, Uint8Array>): void {
    invariant(this.handles.size === 0, () => `restore with ${this.handles.size} files open`);
    this.states.clear();
    for (const [name, bytes] of image) {
      const data = new Uint8Array(Math.max(FILE_CAPACITY_BYTES_INITIAL, bytes.length));
      data.set(bytes);
      this.states.set(name, { data, writtenBytes: bytes.length, syncedBytes: bytes.length });
    }
  }

  corruptByte(name: string, position: number): void {
    const state = this.states.get(name);
    invariant(state !== undefined && position >= 0 && position < state.writtenBytes, `corruptByte: ${name} has no byte at ${position}`);
    state.data[position] = state.data[position]! ^ 0xff;
  }

  /** Overwrites bytes in place, durably, as a misdirected or damaged write would (for fault injection). */
  overwrite(name: string, position: number, bytes: Uint8Array): void {
    const state = this.states.get(name);
    invariant(state !== undefined && position >= 0 && position + bytes.length <= state.writtenBytes, `overwrite: ${name} has no bytes [${position}, ${position + bytes.length})`);
    state.data.set(bytes, position);
  }

  /**
   * Power loss. Each file keeps its synced bytes, maybe a random prefix of the unsynced ones
   * (a torn write), maybe garbage after that. Every open handle dies with the process.
   */
  crash(): void {
    this.epoch++;
    for (const handle of [...this.handles.values()]) handle.kill();
    this.handles.clear();
    const random = this.options.random;
    for (const state of this.states.values()) {
      const unsyncedBytes = state.writtenBytes - state.syncedBytes;
      if (unsyncedBytes === 0) continue;
      let keptBytes = state.syncedBytes;
      if (random() < CRASH_TORN_PREFIX_PROBABILITY) keptBytes += Math.floor(random() * (unsyncedBytes + 1));
      state.writtenBytes = keptBytes;
      if (random() < CRASH_GARBAGE_TAIL_PROBABILITY) {
        const garbage = new Uint8Array(1 + Math.floor(random() * CRASH_GARBAGE_TAIL_BYTES_MAX));
        for (let i = 0; i < garbage.length; i++) garbage[i] = Math.floor(random() * 256);
        writeInto(state, garbage);
      }
      state.syncedBytes = state.writtenBytes;
      state.data.fill(0, state.writtenBytes);
    }
  }

  /** @internal */
  deliver(epoch: number, delayMs: number, fn: () => void): void {
    this.options.schedule(delayMs, () => {
      if (epoch === this.epoch) fn();
    });
  }

  /** @internal */
  get asyncReads(): boolean {
    return this.options.asyncReads === true;
  }

  /** @internal */
  readLatencyMs(): number {
    return this.options.readLatencyMs?.() ?? 0;
  }

  /** @internal */
  writeLatencyMs(): number {
    return this.options.writeLatencyMs?.() ?? 0;
  }

  /** @internal */
  fsyncLatencyMs(): number {
    return (this.options.fsyncLatencyMs?.() ?? 0) + this.fsyncDelayMs;
  }

  /** @internal */
  forget(file: MemFile): void {
    if (this.handles.get(file.name) === file) this.handles.delete(file.name);
  }
}

function writeInto(state: MemFileState, bytes: Uint8Array): void {
  const needed = state.writtenBytes + bytes.length;
  if (needed > state.data.length) {
    const grown = new Uint8Array(Math.max(needed, state.data.length * 2));
    grown.set(state.data.subarray(0, state.writtenBytes));
    state.data = grown;
  }
  state.data.set(bytes, state.writtenBytes);
  state.writtenBytes = needed;
}

class MemFile implements DiskFile {
  private open = true;
  /** Killed by a crash: the process holding it is gone, so nothing it does lands. */
  private dead = false;

  /** Present when the disk reads in the background (MemDiskOptions.asyncReads). */
  readonly readIntoAsync?: (position: number, target: Uint8Array, length: number, done: IoCallback) => void;

  constructor(
    private readonly disk: MemDisk,
    readonly name: string,
    private readonly state: MemFileState,
    private readonly epoch: number,
  ) {
    if (disk.asyncReads) this.readIntoAsync = (position, target, length, done) => this.readLater(position, target, length, done);
  }

  /** A read delivered later, as one in the thread pool: closed meanwhile, it fails; a crash drops it. */
  private readLater(position: number, target: Uint8Array, length: number, done: IoCallback): void {
    this.checkRead(position, target, length);
    this.disk.deliver(this.epoch, this.disk.readLatencyMs(), () => {
      if (!this.open) return done(new Error(`${this.name} was closed during a read`));
      if (position + length > this.state.writtenBytes) return done(new Error(`short read of ${this.name}`));
      target.set(this.state.data.subarray(position, position + length));
      done(null);
    });
  }

  size(): number {
    return this.state.writtenBytes;
  }

  append(pieces: Uint8Array | readonly Uint8Array[], done: IoCallback): void {
    const data = pieces instanceof Uint8Array ? pieces : concatPieces(pieces);
    if (this.dead) return;
    invariant(this.open, `append to closed file ${this.name}`);
    if (this.disk.usedBytes() + data.length > this.disk.capacityBytes) {
      this.disk.deliver(this.epoch, this.disk.writeLatencyMs(), () => done(new DiskFullError(`disk full: ${this.name} +${data.length} bytes`)));
      return;
    }
    // Lands in the page cache now (reads see it); durable only after a later sync completes.
    writeInto(this.state, data);
    this.disk.deliver(this.epoch, this.disk.writeLatencyMs(), () => done(null));
  }

  sync(done: IoCallback): void {
    if (this.dead) return;
    invariant(this.open, `sync of closed file ${this.name}`);
    const coveredBytes = this.state.writtenBytes;
    this.disk.deliver(this.epoch, this.disk.fsyncLatencyMs(), () => {
      // The file may have been truncated meanwhile: never claim more than exists.
      this.state.syncedBytes = Math.max(this.state.syncedBytes, Math.min(coveredBytes, this.state.writtenBytes));
      done(null);
    });
  }

  read(position: number, length: number): Uint8Array {
    invariant(!this.dead && this.open, `read of closed file ${this.name}`);
    invariant(position >= 0 && length >= 0 && position + length <= this.state.writtenBytes, () => `read [${position}, ${position + length}) beyond ${this.state.writtenBytes} of ${this.name}`);
    return this.state.data.slice(position, position + length);
  }

  readInto(position: number, target: Uint8Array, length: number): void {
    this.checkRead(position, target, length);
    target.set(this.state.data.subarray(position, position + length));
  }

  /** What a read (blocking or not) may ask for: an open file's written bytes, into room enough. */
  private checkRead(position: number, target: Uint8Array, length: number): void {
    invariant(!this.dead && this.open, `read of closed file ${this.name}`);
    invariant(position >= 0 && length >= 0 && position + length <= this.state.writtenBytes && length <= target.length, () => `read [${position}, ${position + length}) beyond ${this.state.writtenBytes} of ${this.name}, or into ${target.length} bytes`);
  }

  truncate(length: number): void {
    invariant(!this.dead && this.open, `truncate of closed file ${this.name}`);
    invariant(length >= 0 && length <= this.state.writtenBytes, `truncate of ${this.name} to ${length} > ${this.state.writtenBytes}`);
    this.state.data.fill(0, length, this.state.writtenBytes);
    this.state.writtenBytes = length;
    this.state.syncedBytes = Math.min(this.state.syncedBytes, length);
  }

  appendDurably(data: Uint8Array): void {
    invariant(!this.dead && this.open, `appendDurably to closed file ${this.name}`);
    writeInto(this.state, data);
    this.state.syncedBytes = this.state.writtenBytes;
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.disk.forget(this);
  }

  /** @internal */
  kill(): void {
    this.dead = true;
    this.open = false;
  }
}

function concatPieces(pieces: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const piece of pieces) length += piece.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}
