// The consistency half of a drill's verdict: while the drill runs, a reader reads offsets already
// acknowledged to the load generator (or the drill's probes) and counts every answer that misses
// one — a stale read — beside the writes' lost/duplicated/misplaced. It also times read failover:
// from the fault to the first read of the partition under test answered after it.

export interface ReaderClient {
  read(partition: number, offset: number, maxRecords?: number): Promise<{ records: readonly { offset: number }[]; highWatermark: number }>;
  close(): void;
}

/** Pause between two reads: ~40 reads/s, light beside the load. */
export const READ_INTERVAL_MS = 25;
const EXAMPLES_MAX = 5;

export interface ReadStats {
  readsChecked: number;
  staleReads: number;
  examples: string[];
}

export class ConsistencyReader {
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly stats: ReadStats = { readsChecked: 0, staleReads: 0, examples: [] };
  private turn = 0;
  private faultAtMs: number | null = null;
  /** Fault → first answered read of the partition under test that began after it. */
  readFailoverMs: number | null = null;

  constructor(
    private readonly client: ReaderClient,
    /** Newest acknowledged offset per partition, as of now. */
    private readonly latestAcked: () => ReadonlyMap<number, number>,
    private readonly partitionUnderTest: number,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** The fault step acted: read failover is timed from here. */
  markFault(atMs: number): void {
    this.faultAtMs ??= atMs;
  }

  async stop(): Promise<ReadStats> {
    this.running = false;
    await this.loop;
    this.client.close();
    return { ...this.stats, examples: [...this.stats.examples] };
  }

  private async run(): Promise<void> {
    while (this.running) {
      await this.readOnce();
      await new Promise((resolve) => setTimeout(resolve, READ_INTERVAL_MS));
    }
  }

  private async readOnce(): Promise<void> {
    const latest = this.latestAcked();
    const partitions = [...latest.keys()];
    if (partitions.length === 0) return;
    // Every other read goes to the partition under test, where the fault is.
    const partition = this.turn++ % 2 === 0 && latest.has(this.partitionUnderTest) ? this.partitionUnderTest : (partitions[this.turn % partitions.length] ?? this.partitionUnderTest);
    const target = latest.get(partition);
    if (target === undefined) return;
    const startedMs = this.now();
    let page: Awaited<ReturnType<ReaderClient['read']>>;
    try {
      page = await this.client.read(partition, target, 1);
    } catch {
      return; // no answer (the fault at work): not a wrong answer
    }
    this.stats.readsChecked++;
    const first = page.records[0];
    if (page.highWatermark <= target || first?.offset !== target) {
      this.stats.staleReads++;
      if (this.stats.examples.length < EXAMPLES_MAX) {
        this.stats.examples.push(`stale read: partition ${partition} offset ${target} was acknowledged before the read; the answer had high watermark ${page.highWatermark}${first === undefined ? ' and no record' : `, first record ${first.offset}`}`);
      }
    }
    if (partition === this.partitionUnderTest && this.faultAtMs !== null && this.readFailoverMs === null && startedMs >= this.faultAtMs) {
      this.readFailoverMs = this.now() - this.faultAtMs;
    }
  }
}
