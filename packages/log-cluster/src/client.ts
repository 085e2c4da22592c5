import type { Scheduler } from './clock.ts';
import { LogError } from './errors.ts';
import { BATCH_BYTES_MAX, BATCH_RECORDS_MAX, batchBytes } from './payload.ts';
import { partitionForKey } from './placement.ts';
import type { ClientRequest, ClientResponse, NodeConnector, ReadRecord } from './protocol.ts';
import type { NodeId } from './raft/types.ts';

export interface ClientOptions {
  /**
   * How long a producer waits to fill a batch when nothing of the partition is in flight. 0 (the
   * default) sends at once: batches then form while the previous one awaits its commit, which
   * batches as much under load and adds no delay when idle.
   */
  readonly lingerMs: number;
  readonly batchBytesMax: number;
  /** Give up on an append (Timeout) after this long, retries included. */
  readonly appendTimeoutMs: number;
  /** One request to one node; past it the client tries again (idempotently). */
  readonly attemptTimeoutMs: number;
  readonly retryBackoffMs: number;
  readonly random: () => number;
}

export const DEFAULT_CLIENT_OPTIONS: ClientOptions = {
  lingerMs: 0,
  batchBytesMax: 1 << 20,
  appendTimeoutMs: 10_000,
  attemptTimeoutMs: 3_000,
  retryBackoffMs: 15,
  random: Math.random,
};

export type AppendTarget = { readonly partition: number } | { readonly key: string };

export interface AppendResult {
  readonly partition: number;
  readonly baseOffset: number;
  /** One offset per record, in order. */
  readonly offsets: readonly number[];
}

interface QueuedAppend {
  readonly records: readonly Uint8Array[];
  readonly bytes: number;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: LogError) => void;
}

interface PartitionProducer {
  producerId: number;
  nextSequence: number;
  queue: QueuedAppend[];
  queuedBytes: number;
  inFlight: boolean;
  lingerTimer: (() => void) | null;
}

/** Producer ids are random 48-bit integers: unique enough per client without coordination. */
const newProducerId = (random: () => number): number => Math.floor(random() * 2 ** 48) + 1;

/**
 * Producer and consumer. Appends to one partition are batched while the partition's previous
 * batch is in flight and sent one batch at a time, each tagged (producer id, sequence) so retries after a timeout or a leader
 * change never duplicate a record. An append resolves only once committed on a majority.
 */
export class LogClient {
  private readonly options: ClientOptions;
  private readonly producers = new Map<number, PartitionProducer>();
  private readonly leaders = new Map<number, NodeId>();
  private partitionCount = 0;
  private closed = false;

  constructor(
    private readonly connector: NodeConnector,
    private readonly scheduler: Scheduler,
    options: Partial<ClientOptions> = {},
  ) {
    this.options = { ...DEFAULT_CLIENT_OPTIONS, ...options };
  }

  async append(target: AppendTarget, records: readonly Uint8Array[]): Promise<AppendResult> {
    if (this.closed) throw new LogError('Unavailable', 'client is closed');
    const partitionCount = await this.partitions();
    const partition = 'partition' in target ? target.partition : partitionForKey(target.key, partitionCount);
    if (!Number.isInteger(partition) || partition < 0 || partition >= partitionCount) {
      throw new LogError('UnknownPartition', `partition ${partition} does not exist (partitions are 0..${partitionCount - 1})`, { partition });
    }
    // The same measure the leader checks the batch against (payload.ts).
    const bytes = batchBytes(records);
    if (records.length === 0) throw new LogError('TooLarge', 'append needs at least one record', { partition });
    if (bytes > BATCH_BYTES_MAX || records.length > BATCH_RECORDS_MAX) {
      throw new LogError('TooLarge', `append of ${records.length} records / ${bytes} bytes exceeds one batch (${BATCH_RECORDS_MAX} records, ${BATCH_BYTES_MAX} bytes)`, { partition });
    }
    const producer = this.producer(partition);
    return new Promise<AppendResult>((resolve, reject) => {
      producer.queue.push({ records, bytes, resolve, reject });
      producer.queuedBytes += bytes;
      this.maybeSend(partition, producer);
    });
  }

  async read(partition: number, offset: number, maxRecords = 1000, maxBytes = 4 << 20): Promise<{ records: readonly ReadRecord[]; highWatermark: number; logStartOffset: number }> {
    const response = await this.toLeader(partition, { kind: 'read', partition, offset, maxRecords, maxBytes }, this.scheduler.now() + this.options.appendTimeoutMs);
    if (response.kind !== 'read') throw new LogError('Unavailable', `unexpected response ${response.kind}`);
    return response;
  }

  /** Reads a partition's whole committed log from `from` (tests and the durability verdict use it). */
  async readAll(partition: number, from = 0): Promise<ReadRecord[]> {
    const out: ReadRecord[] = [];
    let offset = from;
    for (;;) {
      const page = await this.read(partition, offset, 5000);
      out.push(...page.records);
      const last = page.records[page.records.length - 1];
      if (last === undefined || last.offset + 1 >= page.highWatermark) return out;
      offset = last.offset + 1;
    }
  }

  async partitions(): Promise<number> {
    if (this.partitionCount === 0) await this.refreshMetadata();
    return this.partitionCount;
  }

  leaderOf(partition: number): NodeId {
    return this.leaders.get(partition) ?? 0;
  }

  close(): void {
    this.closed = true;
    for (const producer of this.producers.values()) {
      producer.lingerTimer?.();
      for (const queued of producer.queue.splice(0)) queued.reject(new LogError('Unavailable', 'client closed before the append was sent'));
    }
  }

  async refreshMetadata(): Promise<void> {
    const nodes = this.connector.nodeIds();
    const start = Math.floor(this.options.random() * nodes.length);
    let lastError: unknown = null;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[(start + i) % nodes.length];
      if (node === undefined) continue;
      try {
        const response = await this.withTimeout(this.connector.request(node, { kind: 'metadata' }));
        if (response.kind !== 'metadata') continue;
        this.partitionCount = response.partitionCount;
        for (const partition of response.partitions) {
          if (partition.leader !== 0) this.leaders.set(partition.partition, partition.leader);
        }
        return;
      } catch (error) {
        lastError = error;
      }
    }
    if (this.partitionCount === 0) throw new LogError('Unavailable', `no node answered metadata (${String(lastError)})`);
  }

  private producer(partition: number): PartitionProducer {
    let producer = this.producers.get(partition);
    if (producer === undefined) {
      producer = { producerId: newProducerId(this.options.random), nextSequence: 0, queue: [], queuedBytes: 0, inFlight: false, lingerTimer: null };
      this.producers.set(partition, producer);
    }
    return producer;
  }

  private maybeSend(partition: number, producer: PartitionProducer): void {
    if (producer.inFlight || producer.queue.length === 0) return;
    if (producer.queuedBytes >= this.options.batchBytesMax || this.options.lingerMs <= 0) {
      producer.lingerTimer?.();
      producer.lingerTimer = null;
      void this.sendBatch(partition, producer);
      return;
    }
    if (producer.lingerTimer === null) {
      producer.lingerTimer = this.scheduler.setTimer(this.options.lingerMs, () => {
        producer.lingerTimer = null;
        if (!producer.inFlight) void this.sendBatch(partition, producer);
      });
    }
  }

  private async sendBatch(partition: number, producer: PartitionProducer): Promise<void> {
    // Take whole appends up to the batch limits: one append's records stay contiguous.
    let bytes = 0;
    let count = 0;
    let taken = 0;
    for (const next of producer.queue) {
      if (taken > 0 && (bytes + next.bytes > this.options.batchBytesMax || count + next.records.length > BATCH_RECORDS_MAX)) break;
      taken++;
      bytes += next.bytes;
      count += next.records.length;
    }
    // One splice, not a shift per append: thousands can be queued behind a batch in flight.
    const batch = producer.queue.splice(0, taken);
    producer.queuedBytes -= bytes;
    if (batch.length === 0) return;
    producer.inFlight = true;
    const sequence = producer.nextSequence++;
    const records = batch.flatMap((queued) => queued.records);
    const deadlineMs = this.scheduler.now() + this.options.appendTimeoutMs;
    try {
      const response = await this.toLeader(partition, { kind: 'append', partition, producerId: producer.producerId, sequence, records }, deadlineMs);
      if (response.kind !== 'append') throw new LogError('Unavailable', `unexpected response ${response.kind}`);
      let offset = response.baseOffset;
      for (const queued of batch) {
        const offsets = queued.records.map((_, i) => offset + i);
        queued.resolve({ partition, baseOffset: offset, offsets });
        offset += queued.records.length;
      }
    } catch (error) {
      const logError = error instanceof LogError ? error : new LogError('Unavailable', String(error));
      // The batch may still commit later; a fresh producer id keeps the next sequence valid.
      producer.producerId = newProducerId(this.options.random);
      producer.nextSequence = 0;
      for (const queued of batch) queued.reject(logError);
    } finally {
      producer.inFlight = false;
      this.maybeSend(partition, producer);
    }
  }

  /** Sends to the partition's leader, following NotLeader hints and retrying retriable errors until the deadline. */
  private async toLeader(partition: number, request: ClientRequest, deadlineMs: number): Promise<ClientResponse> {
    let attempt = 0;
    let lastError: LogError | null = null;
    const nodes = this.connector.nodeIds();
    while (!this.closed) {
      if (this.scheduler.now() >= deadlineMs) {
        throw new LogError('Timeout', `partition ${partition}: no answer within ${this.options.appendTimeoutMs} ms${lastError ? ` (last error: ${lastError.message})` : ''}`, { partition });
      }
      let node = this.leaders.get(partition) ?? 0;
      if (node === 0) node = nodes[(attempt + partition) % nodes.length] ?? 0;
      attempt++;
      let response: ClientResponse;
      try {
        response = await this.withTimeout(this.connector.request(node, request));
      } catch (error) {
        lastError = error instanceof LogError ? error : new LogError('Unavailable', `node ${node}: ${String(error)}`);
        this.leaders.delete(partition);
        await this.sleep(this.backoff(attempt));
        continue;
      }
      if (response.kind !== 'error') {
        this.leaders.set(partition, node);
        return response;
      }
      const error = LogError.fromJSON(response.error);
      if (!error.retriable) throw error;
      lastError = error;
      const hint = error.details.leaderHint ?? 0;
      if (error.code === 'NotLeader' && hint !== 0 && hint !== node) {
        this.leaders.set(partition, hint);
        // Follow a hint at once, but not forever: stale hints can point in a circle during an election.
        if (attempt % (nodes.length + 1) !== 0) continue;
      } else {
        this.leaders.delete(partition);
      }
      await this.sleep(this.backoff(attempt));
    }
    throw new LogError('Unavailable', 'client is closed');
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.options.retryBackoffMs * 2 ** Math.min(attempt, 5), 250);
    return base / 2 + this.options.random() * (base / 2);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.scheduler.setTimer(ms, resolve));
  }

  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const cancel = this.scheduler.setTimer(this.options.attemptTimeoutMs, () => {
        if (settled) return;
        settled = true;
        reject(new LogError('Timeout', `no answer within ${this.options.attemptTimeoutMs} ms`));
      });
      promise.then(
        (value) => {
          if (settled) return;
          settled = true;
          cancel();
          resolve(value);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          cancel();
          reject(error);
        },
      );
    });
  }
}
