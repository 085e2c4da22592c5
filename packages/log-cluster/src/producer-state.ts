import { CommittedBatches } from './committed-batches.ts';
import { PRODUCER_IN_FLIGHT_MAX } from './payload.ts';

/**
 * The producers' newest committed batches before a log start, kept with that start (in the start
 * record retention writes, and in the snapshot a leader sends a replica behind its log start).
 *
 * Why: a replica learns its producers from the log it applies. Once retention deleted a producer's
 * last batches, a replica that restarted, or caught up from a snapshot, had no record of it and took
 * its next batch at any sequence: a later batch retried to it before an earlier one went first
 * (2026-11-29: sim seed 800 451 with --retention-kib 16 --storage-faults, batch n291 at offset
 * 121 and n285–286 at 194–195). Kafka keeps producer state in snapshots beside its segments for this.
 *
 * Layout (little-endian): u32 producers | per producer: f64 id, u32 idle ms, u8 batches, batches ×
 * (u32 sequence, f64 offset, u32 count), oldest first. Idle: how long before the state was made
 * its newest batch committed, so that expiry goes on counting across restarts and snapshots (a
 * fresh clock per restart kept a node that restarted more often than the expiry from ever
 * forgetting a producer); time a node was down is not counted.
 */
const PRODUCER_HEADER_BYTES = 8 + 4 + 1;
/** Idle time kept, at most (u32 ms: 49 days, far past any expiry). */
const IDLE_MS_MAX = 0xffff_ffff;
const BATCH_BYTES = 4 + 8 + 4;

/**
 * A state's bound: it goes in one start record and one snapshot message, rewritten at each pass of
 * retention. Producers expire after an hour idle, but a runbook making a client per append makes
 * thousands a minute; past the bound, those whose newest batch is oldest are left out (~13 000 to
 * ~36 000 producers fit, by how many batches each has), as if they had expired.
 */
export const PRODUCER_STATE_BYTES_MAX = 1 << 20;

/**
 * Each producer's remembered batches that lie wholly before `nextOffset` (entries up to the start);
 * undefined when there are none. Those after it are still in the log, and applying it adds them.
 */
export function encodeProducerState(producers: ReadonlyMap<number, CommittedBatches>, nextOffset: number, nowMs: number, maxBytes = PRODUCER_STATE_BYTES_MAX): Uint8Array | undefined {
  let kept: [number, CommittedBatches, number][] = [];
  let bytes = 4;
  for (const [producerId, batches] of producers) {
    const n = batchesBefore(batches, nextOffset);
    if (n === 0) continue;
    kept.push([producerId, batches, n]);
    bytes += PRODUCER_HEADER_BYTES + n * BATCH_BYTES;
  }
  if (kept.length === 0) return undefined;
  if (bytes > maxBytes) {
    const newestOffset = ([, batches, n]: [number, CommittedBatches, number]): number => batches.offsetAt(batches.slotOf(n - 1));
    kept.sort((a, b) => newestOffset(b) - newestOffset(a));
    const fitting: typeof kept = [];
    bytes = 4;
    for (const producer of kept) {
      const size = PRODUCER_HEADER_BYTES + producer[2] * BATCH_BYTES;
      if (bytes + size > maxBytes) break;
      fitting.push(producer);
      bytes += size;
    }
    kept = fitting;
  }
  const out = new Uint8Array(bytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, kept.length, true);
  let at = 4;
  for (const [producerId, batches, n] of kept) {
    view.setFloat64(at, producerId, true);
    view.setUint32(at + 8, Math.min(IDLE_MS_MAX, Math.max(0, Math.round(nowMs - batches.lastCommittedMs))), true);
    view.setUint8(at + 12, n);
    at += PRODUCER_HEADER_BYTES;
    for (let k = 0; k < n; k++) {
      const slot = batches.slotOf(k);
      view.setUint32(at, batches.sequenceAt(slot), true);
      view.setFloat64(at + 4, batches.offsetAt(slot), true);
      view.setUint32(at + 12, batches.countAt(slot), true);
      at += BATCH_BYTES;
    }
  }
  return out;
}

/** Batches are applied in offset order, so those before `nextOffset` are the oldest ones. */
function batchesBefore(batches: CommittedBatches, nextOffset: number): number {
  let n = 0;
  while (n < batches.size) {
    const slot = batches.slotOf(n);
    if (batches.offsetAt(slot) + batches.countAt(slot) > nextOffset) break;
    n++;
  }
  return n;
}

/** One producer's batches as the state lists them, oldest first. */
export interface StateBatch {
  readonly sequence: number;
  readonly offset: number;
  readonly count: number;
}

/** One producer as the state keeps it. */
export interface StateProducer {
  /** How long before the state was made its newest batch committed. */
  readonly idleMs: number;
  readonly batches: readonly StateBatch[];
}

/**
 * The producers a state holds; throws on a malformed one (a start record's CRC and a frame's
 * checks came first: malformed here is a bug, not a disk fault).
 */
export function decodeProducerState(state: Uint8Array | undefined): Map<number, StateProducer> {
  const producers = new Map<number, StateProducer>();
  if (state === undefined || state.byteLength === 0) return producers;
  const view = new DataView(state.buffer, state.byteOffset, state.byteLength);
  const need = (at: number, bytes: number): void => {
    if (at + bytes > state.byteLength) throw new RangeError(`producer state of ${state.byteLength} bytes ends inside an entry at ${at}`);
  };
  need(0, 4);
  const producerCount = view.getUint32(0, true);
  let at = 4;
  for (let p = 0; p < producerCount; p++) {
    need(at, PRODUCER_HEADER_BYTES);
    const producerId = view.getFloat64(at, true);
    const idleMs = view.getUint32(at + 8, true);
    const n = view.getUint8(at + 12);
    at += PRODUCER_HEADER_BYTES;
    need(at, n * BATCH_BYTES);
    const batches: StateBatch[] = [];
    for (let k = 0; k < n; k++) {
      batches.push({ sequence: view.getUint32(at, true), offset: view.getFloat64(at + 4, true), count: view.getUint32(at + 12, true) });
      at += BATCH_BYTES;
    }
    producers.set(producerId, { idleMs, batches });
  }
  if (at !== state.byteLength) throw new RangeError(`producer state of ${state.byteLength} bytes holds ${state.byteLength - at} bytes past its ${producerCount} producers`);
  return producers;
}

/**
 * The state as a replica remembers it: each producer's newest PRODUCER_IN_FLIGHT_MAX batches, last
 * committed as long before `nowMs` as the state says.
 */
export function producersFromState(state: Uint8Array | undefined, nowMs: number): Map<number, CommittedBatches> {
  const producers = new Map<number, CommittedBatches>();
  for (const [producerId, { idleMs, batches }] of decodeProducerState(state)) {
    const committed = new CommittedBatches(PRODUCER_IN_FLIGHT_MAX);
    for (const batch of batches) committed.add(batch.sequence, batch.offset, batch.count);
    committed.lastCommittedMs = nowMs - idleMs;
    producers.set(producerId, committed);
  }
  return producers;
}
