// One process of the peers bench's *quorum floor*: the least a replicated, fsync-before-ack write
// costs on this machine with Node, as a reference beside the real systems. Three processes; node 1
// leads for good and takes a client's records over one TCP connection. It sends each batch to both
// followers and writes it to its own file; each follower writes the batch it got and answers with
// the batch's number; a batch is acknowledged once the leader's write and one follower's are done
// (2 of 3), in order. Every write is one O_DSYNC pwrite into a zero-filled file (no size change to
// commit), through libuv's pool as Logscope's are; a write takes every record that arrived while
// the one before ran (group commit). Nothing else: no terms, elections, checksums, indexes,
// identifiers, retention, telemetry or recovery.
//
// With --second-write, each node also writes SECOND_WRITE_BYTES per batch to a second file, in
// parallel and just as durably, and a batch counts once both are done: the shape of Logscope's
// flush, whose record identifiers go to a companion file in the same step (storage/identifiers.ts).
// The two floors side by side show what that second durable write costs on this machine by itself.
//
// FLOOR_WRITES_IN_FLIGHT=2 in the bench's environment lets a second group-commit write start while
// one runs (acknowledged in order): the shape of a journal with two flushes in flight. With evenly
// spread sends at 4 000/s it made the floor's tail worse, not better (more, smaller writes on the
// one disk): 2026-11-30, `--systems floor-2w --pacing even`, 2 alternated pairs, 1 KiB p99 5.75 and
// 6.43 ms against 4.22 and 5.23 ms with one.
//
// `node --import tsx bench/peers/floor-node.ts --id N --port P --dir D [--followers P2,P3] [--second-write]`
// Frames: [u32 length of the rest][u8 type][u32 number][payload], little-endian.

import { closeSync, constants, openSync, write, writeSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

export const CLIENT_RECORD = 1;
const REPLICATE = 2;
const FOLLOWER_ACK = 3;
const CLIENT_ACK = 4;
const HEADER_BYTES = 9;

/** The file each node writes, zero-filled first and reused from the start once full. */
const FILE_BYTES = 256 * 1024 * 1024;
const ZERO_CHUNK_BYTES = 4 * 1024 * 1024;
/** The second write's size: one of Logscope's record identifiers (a flush of one partition writes one). */
const SECOND_WRITE_BYTES = 52;
const SECOND_FILE_BYTES = 16 * 1024 * 1024;

export function frame(type: number, number: number, payload: Uint8Array | null): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + (payload?.length ?? 0));
  out.writeUInt32LE(out.length - 4, 0);
  out.writeUInt8(type, 4);
  out.writeUInt32LE(number, 5);
  if (payload !== null) out.set(payload, HEADER_BYTES);
  return out;
}

/** Calls `handle` for each whole frame arriving on `socket`. */
export function onFrames(socket: net.Socket, handle: (type: number, number: number, payload: Buffer) => void): void {
  let chunks: Buffer[] = [];
  let bufferedBytes = 0;
  /** What the frame at the head needs in all, header included (4 until its length is known). */
  let needed = 4;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    bufferedBytes += chunk.length;
    if (bufferedBytes < needed) return;
    // Joined once the next frame is whole, not on every chunk: a big batch spans many chunks, and
    // joining each time copied it over and over.
    const buffered = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bufferedBytes);
    let at = 0;
    while (buffered.length - at >= 4) {
      const length = buffered.readUInt32LE(at);
      if (buffered.length - at - 4 < length) break;
      handle(buffered.readUInt8(at + 4), buffered.readUInt32LE(at + 5), buffered.subarray(at + HEADER_BYTES, at + 4 + length));
      at += 4 + length;
    }
    const rest = buffered.subarray(at);
    chunks = rest.length === 0 ? [] : [rest];
    bufferedBytes = rest.length;
    needed = rest.length >= 4 ? 4 + rest.readUInt32LE(0) : 4;
  });
}

/** Frames written in one tick leave in one writev, as in Logscope's TCP transport. */
export function send(socket: net.Socket, bytes: Buffer): void {
  if (socket.writableCorked === 0) {
    socket.cork();
    process.nextTick(() => socket.uncork());
  }
  socket.write(bytes);
}

/** A zero-filled file opened O_DSYNC, and the next place to write in it (from the start once full). */
class DsyncFile {
  readonly fd: number;
  private position = 0;

  constructor(path: string, private readonly bytes: number) {
    this.fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_DSYNC, 0o600);
    const zeros = Buffer.alloc(Math.min(ZERO_CHUNK_BYTES, bytes));
    for (let at = 0; at < bytes; at += zeros.length) writeSync(this.fd, zeros, 0, zeros.length, at);
  }

  /** Where `length` bytes go next. */
  take(length: number): number {
    if (this.position + length > this.bytes) this.position = 0;
    const at = this.position;
    this.position += length;
    return at;
  }
}

/**
 * Group commit on one O_DSYNC file (and, with a second file, one more durable write in parallel):
 * write() queues, and one pwrite takes all queued at a time.
 */
class DurableLog {
  private readonly log: DsyncFile;
  private readonly second: DsyncFile | null;
  private readonly secondData = Buffer.alloc(SECOND_WRITE_BYTES, 1);
  private queued: Buffer[] = [];
  private queuedTag = 0;
  /** Writes under way, oldest first: each done in any order, reported in order. */
  private readonly inFlight: { tag: number; done: boolean }[] = [];
  private readonly maxInFlight = Math.max(1, Number(process.env.FLOOR_WRITES_IN_FLIGHT ?? 1) || 1);

  constructor(dir: string, secondWrite: boolean, private readonly written: (tag: number) => void) {
    this.log = new DsyncFile(join(dir, 'log'), FILE_BYTES);
    this.second = secondWrite ? new DsyncFile(join(dir, 'second'), SECOND_FILE_BYTES) : null;
  }

  /** Queues `data`; once it is durable, written(tag) is called with the last tag queued with it. */
  write(data: Buffer, tag: number): void {
    this.queued.push(data);
    this.queuedTag = tag;
    if (this.inFlight.length < this.maxInFlight) this.next();
  }

  private next(): void {
    if (this.queued.length === 0) return;
    const data = this.queued.length === 1 ? this.queued[0]! : Buffer.concat(this.queued);
    const tag = this.queuedTag;
    this.queued = [];
    const entry = { tag, done: false };
    this.inFlight.push(entry);
    let pending = this.second === null ? 1 : 2;
    const done = (error: Error | null): void => {
      if (error !== null) throw error;
      if (--pending > 0) return;
      entry.done = true;
      let last = -1;
      while (this.inFlight[0]?.done === true) last = this.inFlight.shift()!.tag;
      if (last >= 0) this.written(last);
      if (this.inFlight.length < this.maxInFlight) this.next();
    };
    write(this.log.fd, data, 0, data.length, this.log.take(data.length), done);
    if (this.second !== null) write(this.second.fd, this.secondData, 0, SECOND_WRITE_BYTES, this.second.take(SECOND_WRITE_BYTES), done);
  }

  close(): void {
    closeSync(this.log.fd);
    if (this.second !== null) closeSync(this.second.fd);
  }
}

function runFollower(port: number, dir: string, secondWrite: boolean): void {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const log = new DurableLog(dir, secondWrite, (batch) => send(socket, frame(FOLLOWER_ACK, batch, null)));
    onFrames(socket, (type, number, payload) => {
      if (type === REPLICATE) log.write(payload, number);
    });
    socket.on('close', () => log.close());
  });
  server.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ event: 'floor-ready', role: 'follower', port })));
}

async function runLeader(port: number, dir: string, followerPorts: readonly number[], secondWrite: boolean): Promise<void> {
  const followers = await Promise.all(followerPorts.map((p) => new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect(p, '127.0.0.1', () => resolve(socket));
    socket.setNoDelay(true);
    socket.once('error', reject);
  })));
  let client: net.Socket | null = null;
  /** Per batch: the last client record in it. */
  const batchLastRecord = new Map<number, number>();
  let nextBatch = 1;
  let ownDurable = 0;
  let followerDurable = 0;
  let acked = 0;
  const commit = (): void => {
    const committed = Math.min(ownDurable, followerDurable);
    if (committed <= acked || client === null) return;
    const lastRecord = batchLastRecord.get(committed)!;
    for (let b = acked + 1; b <= committed; b++) batchLastRecord.delete(b);
    acked = committed;
    send(client, frame(CLIENT_ACK, lastRecord, null));
  };
  const log = new DurableLog(dir, secondWrite, (batch) => {
    ownDurable = batch;
    commit();
  });
  for (const follower of followers) {
    onFrames(follower, (type, number) => {
      if (type !== FOLLOWER_ACK) return;
      // A quorum of 2 of 3: the leader and the faster follower.
      followerDurable = Math.max(followerDurable, number);
      commit();
    });
  }
  // Records of one tick go out as one batch: to the followers, and to the leader's own log.
  let tickRecords: Buffer[] = [];
  let tickLastRecord = 0;
  const flushTick = (): void => {
    const batch = nextBatch++;
    const data = tickRecords.length === 1 ? tickRecords[0]! : Buffer.concat(tickRecords);
    tickRecords = [];
    batchLastRecord.set(batch, tickLastRecord);
    for (const follower of followers) send(follower, frame(REPLICATE, batch, data));
    log.write(data, batch);
  };
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    client = socket;
    onFrames(socket, (type, number, payload) => {
      if (type !== CLIENT_RECORD) return;
      if (tickRecords.length === 0) setImmediate(flushTick);
      // Copied: the payload is a view of a socket chunk that later frames may share.
      tickRecords.push(Buffer.from(payload));
      tickLastRecord = number;
    });
  });
  server.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ event: 'floor-ready', role: 'leader', port })));
}

if (process.argv[1]?.endsWith('floor-node.ts') === true) {
  const { values } = parseArgs({ options: { id: { type: 'string' }, port: { type: 'string' }, dir: { type: 'string' }, followers: { type: 'string' }, 'second-write': { type: 'boolean', default: false } } });
  const port = Number(values.port);
  const dir = values.dir;
  if (!Number.isInteger(port) || dir === undefined) throw new Error('usage: floor-node.ts --id N --port P --dir D [--followers P2,P3] [--second-write]');
  const secondWrite = values['second-write'] === true;
  if (values.followers !== undefined) void runLeader(port, dir, values.followers.split(',').map(Number), secondWrite);
  else runFollower(port, dir, secondWrite);
}
