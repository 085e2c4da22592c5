import { allocBytes } from '../bytes.ts';
import { invariant } from '../invariant.ts';
import type { ClientRequest, ClientResponse, PartitionMessage, ReadRecord } from '../protocol.ts';
import type { Entry, Message, MessageType, SnapshotMeta } from '../raft/types.ts';

/**
 * Binary encoding of what crosses TCP: raft envelopes, client requests and responses.
 * Numbers that can pass 2^32 (terms, indexes, offsets, producer ids) are f64: exact to 2^53.
 */
const MESSAGE_TYPES: readonly MessageType[] = ['preVote', 'preVoteResp', 'vote', 'voteResp', 'append', 'appendResp', 'heartbeat', 'heartbeatResp', 'snapshot', 'timeoutNow', 'faultQuery', 'faultQueryResp', 'diskFull', 'hello'];
const REQUEST_KINDS = ['append', 'read', 'metadata'] as const;
const RESPONSE_KINDS = ['append', 'read', 'metadata', 'error'] as const;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export class Writer {
  private buffer: Uint8Array;
  private view: DataView;
  length = 0;

  /** Sized up front when the caller can estimate: growing a large frame by doubling copies it again and again. */
  constructor(initialBytes = 256) {
    this.buffer = allocBytes(Math.max(16, initialBytes));
    this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + bytes) size *= 2;
    const next = allocBytes(size);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  u8(value: number): void {
    this.reserve(1);
    this.view.setUint8(this.length, value);
    this.length += 1;
  }

  u32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, value >>> 0, true);
    this.length += 4;
  }

  f64(value: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, value, true);
    this.length += 8;
  }

  bytes(value: Uint8Array): void {
    this.u32(value.byteLength);
    this.reserve(value.byteLength);
    this.buffer.set(value, this.length);
    this.length += value.byteLength;
  }

  text(value: string): void {
    this.bytes(textEncoder.encode(value));
  }

  finish(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}

export class Reader {
  private position = 0;
  private readonly view: DataView;

  constructor(private readonly data: Uint8Array) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  private need(bytes: number): void {
    if (this.position + bytes > this.data.byteLength) throw new FrameError(`frame truncated: need ${bytes} bytes at ${this.position} of ${this.data.byteLength}`);
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.position++);
  }

  u32(): number {
    this.need(4);
    const value = this.view.getUint32(this.position, true);
    this.position += 4;
    return value;
  }

  f64(): number {
    this.need(8);
    const value = this.view.getFloat64(this.position, true);
    this.position += 8;
    return value;
  }

  /** A copy: what a client keeps (records it read) must not pin the socket's whole chunk. */
  bytes(): Uint8Array {
    return this.inPlace().slice();
  }

  /**
   * The bytes in place, no copy: for data the node holds only for milliseconds (an entry until its
   * flush is durable, then the journal's cache copies it; a record until its batch is encoded).
   * The frame is never overwritten: each socket read is a fresh buffer, and tcp.ts joins a frame
   * that spans reads into a fresh one.
   */
  inPlace(): Uint8Array {
    const length = this.u32();
    this.need(length);
    const value = this.data.subarray(this.position, this.position + length);
    this.position += length;
    return value;
  }

  text(): string {
    return textDecoder.decode(this.bytes());
  }

  get done(): boolean {
    return this.position === this.data.byteLength;
  }
}

export class FrameError extends Error {
  override name = 'FrameError';
}

function writeMessage(w: Writer, m: Message): void {
  w.u8(MESSAGE_TYPES.indexOf(m.type));
  w.u32(m.from);
  w.u32(m.to);
  w.f64(m.term);
  w.f64(m.logTerm);
  w.f64(m.index);
  w.f64(m.commit);
  w.u8(m.reject ? 1 : 0);
  w.f64(m.rejectHint);
  // 0: none; 1: a snapshot without state; 2: one with (SnapshotMeta.state, length-prefixed).
  if (m.snapshot === null) w.u8(0);
  else {
    w.u8(m.snapshot.state === undefined ? 1 : 2);
    w.f64(m.snapshot.index);
    w.f64(m.snapshot.term);
    w.f64(m.snapshot.nextOffset);
    if (m.snapshot.state !== undefined) w.bytes(m.snapshot.state);
  }
  w.u32(m.entries.length);
  for (const e of m.entries) {
    w.f64(e.index);
    w.f64(e.term);
    w.f64(e.offset);
    w.u32(e.count);
    w.bytes(e.data);
  }
}

function readMessage(r: Reader): Message {
  const type = MESSAGE_TYPES[r.u8()];
  if (type === undefined) throw new FrameError('unknown raft message type');
  const from = r.u32();
  const to = r.u32();
  const term = r.f64();
  const logTerm = r.f64();
  const index = r.f64();
  const commit = r.f64();
  const reject = r.u8() === 1;
  const rejectHint = r.f64();
  let snapshot: SnapshotMeta | null = null;
  const snapshotFlag = r.u8();
  if (snapshotFlag === 1) snapshot = { index: r.f64(), term: r.f64(), nextOffset: r.f64() };
  // A copy: the replica keeps its log start's state, and the frame need not live as long.
  else if (snapshotFlag === 2) snapshot = { index: r.f64(), term: r.f64(), nextOffset: r.f64(), state: r.bytes() };
  else if (snapshotFlag !== 0) throw new FrameError(`unknown snapshot flag ${snapshotFlag}`);
  const count = r.u32();
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) entries.push({ index: r.f64(), term: r.f64(), offset: r.f64(), count: r.u32(), data: r.inPlace() });
  return { type, from, to, term, logTerm, index, commit, reject, rejectHint, snapshot, entries };
}

/** Bytes an envelope will take, closely enough to size its buffer once. */
export function envelopeBytesEstimate(messages: readonly PartitionMessage[]): number {
  let bytes = 16;
  for (const { message } of messages) {
    bytes += 96 + (message.snapshot?.state?.byteLength ?? 0);
    for (const entry of message.entries) bytes += 32 + entry.data.byteLength;
  }
  return bytes;
}

/** Bytes a request will take, closely enough to size its buffer once. */
export function requestBytesEstimate(request: ClientRequest): number {
  if (request.kind !== 'append') return 64;
  let bytes = 64;
  for (const record of request.records) bytes += 4 + record.byteLength;
  return bytes;
}

export function encodeEnvelope(w: Writer, from: number, messages: readonly PartitionMessage[]): void {
  w.u32(from);
  w.u32(messages.length);
  for (const { partition, message } of messages) {
    w.u32(partition);
    writeMessage(w, message);
  }
}

export function decodeEnvelope(r: Reader): { from: number; messages: PartitionMessage[] } {
  const from = r.u32();
  const count = r.u32();
  const messages: PartitionMessage[] = [];
  for (let i = 0; i < count; i++) messages.push({ partition: r.u32(), message: readMessage(r) });
  return { from, messages };
}

export function encodeRequest(w: Writer, request: ClientRequest): void {
  w.u8(REQUEST_KINDS.indexOf(request.kind));
  switch (request.kind) {
    case 'append':
      w.u32(request.partition);
      w.f64(request.producerId);
      w.u32(request.sequence);
      w.u32(request.records.length);
      for (const record of request.records) w.bytes(record);
      return;
    case 'read':
      w.u32(request.partition);
      w.f64(request.offset);
      w.u32(request.maxRecords);
      w.u32(request.maxBytes);
      return;
    case 'metadata':
      return;
  }
}

export function decodeRequest(r: Reader): ClientRequest {
  const kind = REQUEST_KINDS[r.u8()];
  switch (kind) {
    case 'append': {
      const partition = r.u32();
      const producerId = r.f64();
      const sequence = r.u32();
      const count = r.u32();
      const records: Uint8Array[] = [];
      // In place: the leader copies them into the batch it proposes, at once.
      for (let i = 0; i < count; i++) records.push(r.inPlace());
      return { kind, partition, producerId, sequence, records };
    }
    case 'read':
      return { kind, partition: r.u32(), offset: r.f64(), maxRecords: r.u32(), maxBytes: r.u32() };
    case 'metadata':
      return { kind };
    default:
      throw new FrameError('unknown request kind');
  }
}

export function encodeResponse(w: Writer, response: ClientResponse): void {
  w.u8(RESPONSE_KINDS.indexOf(response.kind));
  switch (response.kind) {
    case 'append':
      w.f64(response.baseOffset);
      w.u32(response.count);
      return;
    case 'read':
      w.f64(response.highWatermark);
      w.f64(response.logStartOffset);
      w.u32(response.records.length);
      for (const record of response.records) {
        w.f64(record.offset);
        w.bytes(record.value);
      }
      return;
    case 'metadata':
      w.text(JSON.stringify(response));
      return;
    case 'error':
      w.text(JSON.stringify(response.error));
      return;
  }
}

export function decodeResponse(r: Reader): ClientResponse {
  const kind = RESPONSE_KINDS[r.u8()];
  switch (kind) {
    case 'append':
      return { kind, baseOffset: r.f64(), count: r.u32() };
    case 'read': {
      const highWatermark = r.f64();
      const logStartOffset = r.f64();
      const count = r.u32();
      const records: ReadRecord[] = [];
      for (let i = 0; i < count; i++) records.push({ offset: r.f64(), value: r.bytes() });
      return { kind, highWatermark, logStartOffset, records };
    }
    case 'metadata': {
      const value = JSON.parse(r.text()) as ClientResponse;
      invariant(value.kind === 'metadata', 'metadata frame holds metadata');
      return value;
    }
    case 'error':
      return { kind, error: JSON.parse(r.text()) as Extract<ClientResponse, { kind: 'error' }>['error'] };
    default:
      throw new FrameError('unknown response kind');
  }
}
