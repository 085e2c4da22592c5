import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDisk } from './file-disk.ts';
import type { DiskFile } from './types.ts';
import { untilPreallocated } from './test-helpers.ts';

/** FileDisk's files read asynchronously; the error the read ended with (null: it read them all). */
function readAsync(file: DiskFile, position: number, target: Uint8Array, length: number): Promise<Error | null> {
  const read = file.readIntoAsync?.bind(file);
  if (read === undefined) throw new Error(`${file.name} has no asynchronous read`);
  let settle: (error: Error | null) => void = () => undefined;
  const done = new Promise<Error | null>((resolve) => (settle = resolve));
  read(position, target, length, (error) => settle(error)); // a refused read throws here, not in the promise
  return done;
}

let directory = '';
beforeEach(() => {
  directory = fs.mkdtempSync(path.join(os.tmpdir(), 'logscope-file-disk-'));
});
afterEach(() => {
  fs.rmSync(directory, { recursive: true, force: true });
});

/** The open flags of this process's descriptors on `file`, from Linux's /proc/self/fdinfo. */
function openFlags(file: string): number[] {
  const flags: number[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target = '';
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    if (target !== file) continue;
    const match = /^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    if (match !== null) flags.push(Number.parseInt(match[1]!, 8));
  }
  return flags;
}

function append(file: { append: (data: Uint8Array, done: (error: Error | null) => void) => void; sync: (done: (error: Error | null) => void) => void }, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    file.append(data, (error) => error !== null && reject(error));
    file.sync((error) => (error === null ? resolve() : reject(error)));
  });
}

describe.runIf(process.platform === 'linux')('FileDisk', () => {
  it('writes every file through a descriptor with O_DSYNC, so a write is durable when it completes (plain and preallocated files)', async () => {
    const disk = new FileDisk(directory);
    const plain = disk.open('plain.log');
    await append(plain, new Uint8Array(100).fill(7));
    const plainFlags = openFlags(path.join(directory, 'plain.log'));
    expect(plainFlags).toHaveLength(1);
    expect(plainFlags[0]! & fs.constants.O_DSYNC).toBe(fs.constants.O_DSYNC);

    const bytes = 64 << 10;
    await untilPreallocated(disk, [bytes]);
    const prepared = disk.openPreallocated('prepared.log', bytes);
    await append(prepared, new Uint8Array(100).fill(9));
    // Zero-filled to full size ahead of time; the append overwrote the start.
    const onDisk = fs.readFileSync(path.join(directory, 'prepared.log'));
    expect(onDisk.length).toBe(bytes);
    expect(onDisk.subarray(0, 100).every((b) => b === 9)).toBe(true);
    expect(prepared.size()).toBe(100);
    expect(prepared.preallocated).toBe(true);
    expect(plain.preallocated).toBe(false);
    const preparedFlags = openFlags(path.join(directory, 'prepared.log'));
    expect(preparedFlags).toHaveLength(1);
    expect(preparedFlags[0]! & fs.constants.O_DSYNC).toBe(fs.constants.O_DSYNC);
    plain.close();
    prepared.close();
  });

  it('keeps one spare per size, so segments and their identifier files are both preallocated', async () => {
    const disk = new FileDisk(directory);
    const sizes = [256 << 10, 32 << 10];
    await untilPreallocated(disk, sizes);
    const files = sizes.map((bytes, k) => disk.openPreallocated(`f${k}.log`, bytes));
    await Promise.all(files.map((file) => append(file, new Uint8Array(10))));
    expect(sizes.map((_, k) => fs.statSync(path.join(directory, `f${k}.log`)).size)).toEqual(sizes);
    for (const file of files) file.close();
  });
  it('dropSpares stops a fill under way and removes ready spares, so a stopped cluster writes no more zeros', async () => {
    const ready = new FileDisk(path.join(directory, 'ready'));
    await untilPreallocated(ready, [64 << 10]);
    const filling = new FileDisk(path.join(directory, 'filling'));
    filling.preallocatedReady(64 << 20);
    const spares = (disk: FileDisk): string[] => fs.readdirSync(disk.directory).filter((name) => name.startsWith('preallocating-'));
    for (let i = 0; i < 500 && spares(filling).length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(spares(filling)).toHaveLength(1);
    // Once the drop has settled, the fill has stopped and every spare file is gone.
    await Promise.all([ready.dropSpares(), filling.dropSpares()]);
    expect(spares(ready)).toEqual([]);
    expect(spares(filling)).toEqual([]);
    // And nothing comes back: no step of the fill was left to run.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(spares(filling)).toEqual([]);
  });

  it('a file closed with a write in flight (a crash) keeps its descriptor until the write ends: a file opened meanwhile never receives it', async () => {
    // Hold every thread-pool thread, so the append below is still queued when its file closes.
    const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const blockers = Array.from({ length: threads }, () => new Promise((resolve) => crypto.pbkdf2('p', 's', 300_000, 32, 'sha256', resolve)));
    const disk = new FileDisk(directory);
    const crashed = disk.open('crashed.log');
    crashed.append(new Uint8Array(4096).fill(0xee), () => undefined);
    crashed.close();
    // Opened after the close: with the descriptor closed at once, it would take the same number and
    // the queued write (or its failure path's ftruncate) would land here.
    const other = disk.open('other.log');
    await append(other, new Uint8Array(100).fill(1));
    await Promise.all(blockers);
    await disk.settled();
    await append(other, new Uint8Array(100).fill(2));
    const onDisk = fs.readFileSync(path.join(directory, 'other.log'));
    expect(onDisk.length).toBe(200);
    expect(onDisk.subarray(0, 100).every((b) => b === 1)).toBe(true);
    expect(onDisk.subarray(100).every((b) => b === 2)).toBe(true);
    other.close();
  });

  it('a file closed with a read in flight keeps its descriptor until the read ends: the read fails, and a file opened meanwhile is never read for it', async () => {
    const disk = new FileDisk(directory);
    const scrubbed = disk.open('scrubbed.log');
    await append(scrubbed, new Uint8Array(8192).fill(0xaa));
    // Hold every thread-pool thread, so the read below is still queued when its file closes.
    const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const blockers = Array.from({ length: threads }, () => new Promise((resolve) => crypto.pbkdf2('p', 's', 300_000, 32, 'sha256', resolve)));
    const target = new Uint8Array(8192);
    const read = readAsync(scrubbed, 0, target, 8192);
    scrubbed.close();
    // Opened after the close: with the descriptor closed at once, it would take the same number
    // and the queued read would read this file's bytes as if they were scrubbed.log's.
    const other = disk.open('other.log');
    await append(other, new Uint8Array(8192).fill(0x55));
    await Promise.all(blockers);
    const error = await read;
    expect(error?.message).toBe('scrubbed.log was closed during a read');
    expect(target.every((b) => b === 0xaa || b === 0)).toBe(true); // never the other file's 0x55
    await disk.settled();
    other.close();

    // Without a close, it reads what is there; beyond what was written it refuses at once.
    const open = disk.open('scrubbed.log');
    const again = new Uint8Array(8192);
    expect(await readAsync(open, 0, again, 8192)).toBeNull();
    expect(again.every((b) => b === 0xaa)).toBe(true);
    expect(() => readAsync(open, 8000, again, 400)).toThrow(/beyond written 8192/);
    open.close();
  });
});
