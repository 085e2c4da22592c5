import { allocBytes } from '../bytes.ts';
import { IndexRing } from '../index-ring.ts';
import { invariant } from '../invariant.ts';
import type { Entry, HardState, RaftLogStorage, SetAsideTail, SnapshotMeta } from '../raft/types.ts';
import { crc32c } from './crc32c.ts';
import { EntryTable } from './entry-table.ts';
import { SlabCache } from './slab-cache.ts';
import {
  IDENTIFIER_BYTES,
  decodeIdentifiersFrom,
  encodeIdentifiers,
  faultyMarkerName,
  faultyTails,
  getU64,
  identifiersFileName,
  mergeFaultyTails,
  parseFaultyMarker,
  parseSetAsideName,
  parseStartMarker,
  putU64,
  recordIdentifier,
  setAsideName,
  startMarkerName,
  writeMarker,
  type FaultyTail,
  type RecordIdentifier,
} from './identifiers.ts';
import { CorruptReadError, DiskFullError, DiskReadError, type Disk, type DiskFile, type IoCallback, type RecoveryReport } from './types.ts';

/**
 * One journal per node, holding every partition replica of the node, so a flush costs one
 * fdatasync per touched file (usually one segment and maybe the hard-state file) however many
 * partitions it carries.
 *
 * Segment record, little-endian: [u32 length][u32 crc32c][u8 type][u32 partition][payload],
 * where length counts the bytes after the crc (type + partition + payload) and the crc covers
 * them. ENTRIES payload: [u32 n] then n × [u64 index][u64 term][u64 offset][u32 count][u32 bytes][data].
 * SNAPSHOT payload: [u64 index][u64 term][u64 nextOffset][u8 kept]: the log now starts after
 * index; kept says whether the entries after it were kept (the log held index with term), so
 * replay never has to guess.
 *
 * Hard states live apart, in `state-<seq>.log` files of fixed-size CRC'd records, so a corrupt
 * segment never loses a vote, and every record is written twice (`state-<seq>.copy`, same flush),
 * so a damaged or cut hard-state file does not either. Compaction writes a new file holding every
 * hard state, syncs it and only then removes the older files; recovery reads every file in order,
 * the newer hard state winning.
 *
 * Every ENTRIES record also gets an identifier in `seg-<seq>.ids`, written in the same flush
 * (storage/identifiers.ts): recovery cuts a bad or missing tail that no identifier names (never
 * acknowledged) and keeps one that an identifier names as a faulty tail (maybe acknowledged,
 * damaged; raft settles which: see Raft.handleFaultAnswer). A valid record that no identifier
 * names (a crash kept the records of a flush and not their identifiers, or its identifier was
 * damaged) is named again by recovery, durably, before anything can acknowledge it.
 */

export interface JournalOptions {
  segmentBytes: number;
  retentionBytes: number;
  retentionMs: number;
  now: () => number;
  cacheBytes: number;
  /** Told after every physical flush (its writes and fdatasyncs) how long it took and how much it wrote. */
  onFlushed?: (durationMs: number, bytes: number) => void;
  /**
   * Told when a background read of a partition's entries ended (see fetchInBackground): what it
   * read is in memory now, for whoever waits to send or serve it. `failure`: a record it read was
   * bad (CorruptReadError) or the device failed the read (DiskReadError); the node stops as on a
   * blocking read's.
   */
  onFetched?: (partition: number, failure: Error | null) => void;
  /**
   * When log reads of entries on disk go to the thread pool (see fetchInBackground), where the disk
   * can: 'always' (default); 'when-slow', once blocking reads were slow (see SLOW_READ_WINDOW_BYTES:
   * the data came from the device, not the page cache), for SLOW_READ_HOLD_MS; 'never' (every read
   * blocks, as before background reads: the benches' comparison). 'always' because telling the
   * device from the page cache by timing blocking reads proved unreliable here (history-reads bench:
   * p99 8-103 ms against 4-9 ms), while a follower's return from the page cache costs about twice
   * the p99 in the pool (embedded: 52 and 65 against 22-41 ms), much less than a read from the device
   * costs blocking (111-172 ms).
   */
  backgroundReads?: 'when-slow' | 'always' | 'never';
  /**
   * The most recovery copies to keep other partitions' records after a bad one (default
   * SALVAGE_SEGMENTS_MAX segments); past it, it cuts every partition there (see salvageAfter).
   */
  salvageBytesMax?: number;
  /** The clock that times reads for backgroundReads 'when-slow', in ms (default performance.now). */
  readClockMs?: () => number;
  /**
   * Write and check record identifiers (default true). False is the recovery before them: a bad or
   * missing tail is always taken for a torn write. Kept for the simulator's comparison and benches.
   */
  identifiers?: boolean;
  /**
   * Told when a flush stops on a full disk (true) and when it went through after all (false). The
   * flush then waits — nothing of it is on disk, nothing is acknowledged — until retryBlockedFlush().
   */
  onDiskFull?: (full: boolean) => void;
  /**
   * Bytes per second log reads may take from segments, shared by every partition (default
   * SEGMENT_READ_BYTES_PER_SEC): a read past the budget returns fewer entries, at least one.
   */
  segmentReadBytesPerSec?: number;
  /** @internal Bytes recovery reads at a time (default SCAN_CHUNK_BYTES); the simulator uses small ones so records straddle them. */
  scanChunkBytes?: number;
  /** Bytes per second scrub() may read (default SCRUB_BYTES_PER_SEC; 0 turns the scrub off). */
  scrubBytesPerSec?: number;
  /** A new scrub pass starts at most this long after the last one started (default SCRUB_PASS_INTERVAL_MS). */
  scrubPassIntervalMs?: number;
  /** New segments are zero-filled ahead only while appends run at most this fast (default PREALLOCATE_BELOW_BYTES_PER_SEC). */
  preallocateBelowBytesPerSec?: number;
}

/**
 * The scrub's pace (see Journal.scrub). A byte that rots in data nobody reads stays hidden until a
 * restart's recovery trips on it, and then everything after it is cut and fetched again, maybe once
 * another replica has rotted too. At 4 MiB/s a node reads 1 GiB of log in ~4 minutes, with reads of
 * at most SCRUB_CHUNK_BYTES per call (tens of µs from the page cache).
 */
export const SCRUB_BYTES_PER_SEC = 4 << 20;
export const SCRUB_PASS_INTERVAL_MS = 60_000;
/** The most one scrub call reads (more only for a record larger than this, read whole). */
const SCRUB_CHUNK_BYTES = 256 << 10;

/**
 * Log reads from segments run on the event loop that serves appends. A follower that comes back
 * after minutes is hundreds of MB behind on every partition it holds, and its leaders read whatever
 * their pipelines allowed in the turn its answers arrived: 150 MB behind on 12 partitions stalled a
 * 3-node cluster's appends for up to 0.8 s. A read, with its buffer and its copy into a message,
 * cost 2-8 ms per MB on this 2-core machine, so at this rate a leader gives reads about a tenth of
 * its loop; each leader feeds a follower 64 MiB/s (3 nodes, 150 MB behind: caught up in 1.2-2.1 s).
 */
export const SEGMENT_READ_BYTES_PER_SEC = 64 << 20;
/** What the read budget saves up while idle, in seconds of its rate (1 MiB at the default): a consumer's or a follower's first page goes at once. */
const SEGMENT_READ_BURST_SECONDS = 1 / 64;

const RECORD_TYPE_ENTRIES = 1;
const RECORD_TYPE_SNAPSHOT = 2;
/** [u32 length][u32 crc]. */
const RECORD_PREFIX_BYTES = 8;
/** [u8 type][u32 partition]. */
const RECORD_BODY_HEADER_BYTES = 5;
const ENTRIES_COUNT_BYTES = 4;
export const ENTRY_HEADER_BYTES = 32;
const SNAPSHOT_PAYLOAD_BYTES = 25;
/** A length field beyond this is corruption, not a record. */
export const RECORD_BYTES_MAX = 64 << 20;
/**
 * appendEntries splits into records of about this much data, so one bad CRC costs little, and a log
 * read, which checks whole records, re-reads little around its ends (see segmentData).
 */
const RECORD_ENTRIES_BYTES_TARGET = 64 << 10;
/**
 * Identifier files are zero-filled ahead too, at this fraction of a segment (52 bytes per record:
 * enough unless records average under ~420 bytes; past it the segment rolls early), so their
 * durable writes commit no size change either.
 */
const IDENTIFIERS_PREALLOCATE_FRACTION = 8;
/** How often a plain active segment asks whether a zero-filled one is ready (see rollToPreallocated). */
const PREALLOCATION_ASK_MS = 1000;
/** ...once it holds at least this fraction of a segment. */
const PREALLOCATION_ROLL_FRACTION = 64;
/**
 * Segments are zero-filled ahead (and a plain one left for a zero-filled one) only while the
 * journal appends at most this fast. A zero-filled file spares each small flush a size commit, but
 * its zeros are as many bytes again, flushed 64 KiB at a time beside the journal's own flushes;
 * once appends outrun the zero-fill (~50 MB/s) it never pauses. 3 alternated pairs of the peers
 * bench over TCP, 1 KiB max: 52–62 k acknowledged/s against 43–56 k with every segment zero-filled.
 * Embedded 3 × 12 at max then half of it, 4 pairs: max the same or higher, p99 at half 10–25
 * against 19–62 ms. At 1 000 and 4 000/s (1–4 MB/s) nothing changes. A 64 MiB segment filled in
 * under 3.2 s is followed by a plain one.
 */
const PREALLOCATE_BELOW_BYTES_PER_SEC = 20 << 20;
/** The append rate that decides (see preallocating) is measured over windows of at least this long. */
const APPEND_RATE_WINDOW_MS = 1000;
export const ENTRY_DATA_BYTES_MAX = RECORD_BYTES_MAX - RECORD_BODY_HEADER_BYTES - ENTRIES_COUNT_BYTES - ENTRY_HEADER_BYTES;
export const PARTITION_MAX = 0xffff_ffff;
const SEQUENCE_DIGITS = 20;
/**
 * Told of each entry that opening a journal replays, in the order the records are (a rewrite of an
 * index replays it again), with its data: `dataBytes` at `dataAt` of `record`, valid only during the call.
 */
export type ReplayObserver = (partition: number, index: number, offset: number, count: number, record: DataView, dataAt: number, dataBytes: number) => void;

/** An opened journal and what its recovery found. */
export interface OpenedJournal {
  readonly journal: Journal;
  readonly report: RecoveryReport;
}

/** Records replayed between two points where a paced recovery may pause (see Journal.openPaced). */
const RECOVERY_STEP_RECORDS = 64;
/** Identifiers decoded between two such points. */
const RECOVERY_STEP_IDENTIFIERS = 4096;
/** How long a paced recovery runs before it lets the event loop's other work in. */
const RECOVERY_SLICE_MS = 1;

/** Runs steps that may pause (see Journal.recoverySteps) without pausing: their result. */
function allSteps<T>(steps: Generator<void, T, void>): T {
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

/** Salvaged records are written under this prefix, then renamed (see salvageAfter); leftovers of a crash are removed. */
const SALVAGE_PREFIX = 'salvage-';
/** The most recovery copies to keep records after a bad one, in segments (default 64 MiB each: 256 MiB). */
const SALVAGE_SEGMENTS_MAX = 4;
const SEGMENT_NAME = /^seg-(\d{20})\.log$/;
const STATE_NAME = /^state-(\d{20})\.log$/;

/** [u32 length = 24][u32 crc][u32 partition][u64 term][u32 vote][u64 commit]. */
const STATE_RECORD_BYTES = 32;
const STATE_RECORD_LENGTH = STATE_RECORD_BYTES - 8;
/** The hard-state file is compacted past this (or 4 full dumps, with many partitions). */
export const STATE_LOG_BYTES_MAX = 1 << 20;
const STATE_LOG_DUMPS_MAX = 4;

/** After a bad record, how many later positions to try for a valid record (corruption vs torn tail). */
const VALID_RECORD_SEARCH_POSITIONS_MAX = 64 << 10;
/** Term of a log start not yet known during recovery (its segment was deleted by retention). */
const TERM_UNKNOWN = -1;
const UINT32 = 0x1_0000_0000;

interface SegmentInfo {
  readonly seq: number;
  readonly name: string;
  readonly file: DiskFile;
  lastWriteMs: number;
  /** Retention removes it once the batch carrying the new log starts is durable. */
  deleting: boolean;
  /** Where the last completed flush left it: records end here, each whole and synced (the scrub reads up to it). */
  durableBytes: number;
}

/** Journal.durableProgress: segments, and hard states (votes are promises too). */
export interface DurableProgress {
  segments: number;
  states: number;
}

const PROGRESS_SEQ_UNIT = 2 ** 32;

function progressOf(seq: number, bytes: number): number {
  invariant(bytes < PROGRESS_SEQ_UNIT && seq * PROGRESS_SEQ_UNIT < Number.MAX_SAFE_INTEGER, () => `progress of sequence ${seq} at ${bytes} bytes does not fit`);
  return seq * PROGRESS_SEQ_UNIT + bytes;
}

interface StateFileInfo {
  readonly seq: number;
  readonly name: string;
  readonly file: DiskFile;
  /** `state-<seq>.copy`: the same records again, so one damaged copy never loses a term or a vote. */
  readonly copy: DiskFile;
}

/** One append of a flush step: the data goes at the file's end, then the file is synced. */
interface FlushWrite {
  readonly file: DiskFile;
  readonly data: Uint8Array | readonly Uint8Array[];
}

/** What a flush step's writes have answered so far (see Journal.writeAll). */
interface WriteAllState {
  readonly writes: readonly FlushWrite[];
  readonly done: (failure: Error | null) => void;
  remaining: number;
  failure: Error | null;
  readonly sizesBefore: readonly number[];
}

interface Batch {
  readonly id: number;
  readonly records: Uint8Array[];
  recordBytes: number;
  /** Logs with entries or a log start located relative to this batch. */
  readonly located: Set<PartitionLog>;
  /** Entry data pinned in memory until durable, then handed to the cache. */
  readonly written: { log: PartitionLog; index: number; data: Uint8Array }[];
  readonly hardStates: Map<number, HardState>;
  readonly removeAfter: SegmentInfo[];
  /** Identifiers of the batch's ENTRIES records, positions relative to the batch. */
  readonly identifiers: RecordIdentifier[];
  /** Faulty-tail markers of repaired partitions, removed once everything staged before is durable. */
  readonly removeMarkersAfter: string[];
  readonly waiters: IoCallback[];
  /** When its flush began (options.now()), once it has. */
  flushStartedMs: number;
  /** The segment its records went to and where they end there, once its flush has started. */
  segmentWritten: SegmentInfo | null;
  segmentEnd: number;
  /** The state file its hard states went to and where they end there, likewise. */
  stateWritten: StateFileInfo | null;
  stateEnd: number;
  /** Set when its flush starts: how to take its writes back, what goes once it is durable. */
  undo: (() => void)[];
  obsoleteStateFiles: StateFileInfo[];
}

/**
 * Bytes of other records a segment read spans to join two entries of a partition: a read call costs
 * about what copying ~10 KiB from the page cache does, so a wider gap is cheaper as a second read.
 */
const READ_GAP_BYTES_MAX = 8 << 10;
/**
 * backgroundReads 'when-slow': blocking segment reads are judged a window at a time
 * (SLOW_READ_WINDOW_BYTES read, SLOW_READ_WINDOW_MS spent reading, or one read that took
 * SLOW_READ_MS). Slower than SLOW_READ_BYTES_PER_MS over it, they came from the device, not the
 * page cache (which gives 1 MiB in 0.5-1 ms here, in 16 KiB reads): log reads then go to the pool
 * for SLOW_READ_HOLD_MS, and while background reads take SLOW_READ_MS or more. A window, so that
 * the loop being preempted during one read does not count as the device. From the page cache a
 * blocking read costs the loop less than one in the pool (~50 µs a call to submit and answer);
 * but reads between the two (the host's cache under a virtual disk) pass for quick and still hold
 * the loop, which is why it is not the default (see JournalOptions.backgroundReads).
 */
const SLOW_READ_WINDOW_BYTES = 1 << 20;
const SLOW_READ_WINDOW_MS = 10;
const SLOW_READ_BYTES_PER_MS = 300_000;
const SLOW_READ_MS = 2;
const SLOW_READ_HOLD_MS = 10_000;
/**
 * The same for a background read (see Journal.fetchInBackground): there a read call costs the loop
 * ~50 µs of submitting and answering, and the pool thread copies what it spans, so a partition's
 * records are joined across up to this much of others' (which are neither checked nor copied again).
 */
const BACKGROUND_READ_GAP_BYTES_MAX = 256 << 10;
/**
 * The most a blocking segment read takes at once: from the page cache a call costs ~10 µs beside
 * its copy, so smaller reads cost little, and the one that finds the data on the device (see
 * SLOW_READ_WINDOW_BYTES) holds the loop for at most 128 KiB of device reads past the window.
 */
const BLOCKING_READ_SPAN_BYTES_MAX = 128 << 10;
/** The most a background segment read takes at once (an append message's default page). */
const READ_SPAN_BYTES_MAX = 1 << 20;

/**
 * The most one background read fetches for a partition (see Journal.fetchInBackground): an append
 * message's default page, and a client's largest read.
 */
export const FETCH_BYTES_MAX = 4 << 20;
/**
 * Background reads in libuv's pool at once, per journal, the scrub's among them. The pool's 4
 * threads also run the journal's flushes, first come first served: a follower's return queued up to 48 reads of 1 MiB,
 * and the leaders' own flushes waited behind them (57 ms for a flush of nothing). Embedded 3 × 12,
 * 150 MB to catch up from the page cache, p99 of the load meanwhile 34–49 ms at 2 against 109–132
 * without a limit (3 runs each; 21–35 at 1, blocking 32–49); cold history reads no slower.
 */
export const BACKGROUND_READS_IN_FLIGHT_MAX = 2;
/** Fetched entries held at most, over all partitions, until taken; past it, log reads block as before. */
const FETCHED_BYTES_MAX = 32 << 20;
/** A fetched entry nobody took within this is dropped (its follower caught up otherwise, its leader stepped down). */
const FETCHED_KEEP_MS = 2_000;

/** An entry a background read brought into memory, and where it was read from (see takeFetched). */
interface FetchedEntry {
  readonly data: Uint8Array;
  readonly seq: number;
  readonly position: number;
  readonly atMs: number;
}

/** One read of a background fetch: entries [from, to) of a partition, in the records [recordStart, end) of a segment. */
interface FetchSpan {
  readonly segment: SegmentInfo;
  readonly from: number;
  readonly to: number;
  readonly recordStart: number;
  readonly end: number;
  /** Where entry to - 1 was when the read was issued: a log cut and written again since moved it (segments only grow). */
  readonly lastPosition: number;
  readonly buffer: Uint8Array;
  error: Error | null;
}

/** The bytes a batch's flush writes: its records and its hard states (one copy). */
function flushBytes(batch: Batch): number {
  return batch.recordBytes + batch.hardStates.size * STATE_RECORD_BYTES;
}

interface EntryMeta {
  readonly index: number;
  readonly term: number;
  readonly offset: number;
  readonly count: number;
  readonly segment: number;
  readonly position: number;
  readonly dataBytes: number;
}

export class Journal {
  private readonly logs = new Map<number, PartitionLog>();
  private segments: SegmentInfo[] = [];
  private stateFiles: StateFileInfo[] = [];
  /** What completed flushes made durable (see durableProgress): only grows. */
  private progress: DurableProgress = { segments: 0, states: 0 };
  /** How far the files went as the last recovery found them, before it cut anything (see durableProgress). */
  private found: DurableProgress = { segments: 0, states: 0 };
  private readonly files = new Map<string, DiskFile>();
  private nextBatchId = 1;
  private staged: Batch;
  /** The batch being written and synced; at most one. */
  private inFlight: Batch | null = null;
  private closed = false;
  private readonly identifiersOn: boolean;
  /** Set at open, so the first ask is a second in (no spare is ready before) and tests on a frozen clock never roll early. */
  private preallocationAskedMs: number;
  /** Bytes appended to segments since appendWindowStartMs, and the rate over the last whole window (see preallocating). */
  private appendWindowBytes = 0;
  private appendWindowStartMs: number;
  private appendBytesPerSec = 0;
  /** The flush stopped on a full disk, re-run by retryBlockedFlush (at most one). */
  private blockedRetries: (() => void)[] = [];
  /** Durable entries' data, located by each log's table (see SlabCache for why not one buffer per entry). */
  private readonly cache: SlabCache;
  /** Read budget (see SEGMENT_READ_BYTES_PER_SEC): bytes available at `readTokensAtMs`; negative after a read over it. */
  private readTokens = 0;
  private readTokensAtMs = Number.NEGATIVE_INFINITY;
  /** Bytes log reads took from segments, and times the read budget cut a read short or made a leader wait (see readStats). */
  private segmentReadBytes = 0;
  private backgroundReadBytes = 0;
  private readsThrottled = 0;
  /** The scrub's place: segment seq (0: a pass has yet to start) and position there, a record start. */
  private scrubSeq = 0;
  private scrubAt = 0;
  /** Bytes the scrub may read now (see scrub), as of scrubTokensAtMs. */
  private scrubTokens = 0;
  private scrubTokensAtMs = Number.NEGATIVE_INFINITY;
  private scrubPassStartedMs = Number.NEGATIVE_INFINITY;
  private scrubbedBytes = 0;
  private scrubPasses = 0;
  /** One buffer for every scrub read (a new one per step was 4 MiB/s of garbage per node). */
  private scrubBuffer: Uint8Array = new Uint8Array(0);
  /** A record longer than the last read: the next read takes at least this much. */
  private scrubNeed = 0;
  /** A scrub read is in the thread pool (only one at a time; the buffer is its target). */
  private scrubInFlight = false;
  /** What that read found (a bad record, an I/O error): thrown by the next scrub() call. */
  private scrubFailure: Error | null = null;
  /** Bytes of fetched entries held (see fetchInBackground), and the logs holding any. */
  private fetchedBytes = 0;
  /** Told of the entries the recovery in Journal.open replays; null after it. */
  private replayed: ReplayObserver | null = null;
  private readonly fetchedLogs = new Set<PartitionLog>();
  /** Background segment reads in libuv's pool now, and those waiting for one of them to end (see BACKGROUND_READS_IN_FLIGHT_MAX). */
  private backgroundReadsInFlight = 0;
  private readonly backgroundReadQueue: (() => void)[] = [];
  /** Until when (readClockMs) log reads go to the thread pool: blocking ones were slow (see SLOW_READ_WINDOW_BYTES). */
  private slowReadsUntilMs = Number.NEGATIVE_INFINITY;
  /** The window of blocking reads being judged: bytes read and ms taken. */
  private blockingWindowBytes = 0;
  private blockingWindowMs = 0;
  /** Logs whose background read waits for the read budget (started by startWaitingFetches). */
  private readonly waitingFetches = new Set<PartitionLog>();

  private readonly readClock: () => number;

  private constructor(
    private readonly disk: Disk,
    private readonly options: JournalOptions,
  ) {
    this.readClock = options.readClockMs ?? (() => performance.now());
    this.identifiersOn = options.identifiers !== false;
    this.preallocationAskedMs = options.now();
    this.appendWindowStartMs = options.now();
    invariant(options.segmentBytes > 0 && options.retentionBytes >= 0 && options.retentionMs >= 0 && options.cacheBytes >= 0, 'bad journal options');
    this.cache = new SlabCache(options.cacheBytes);
    this.staged = this.newBatch();
  }

  static open(disk: Disk, options: JournalOptions, replayed: ReplayObserver | null = null): OpenedJournal {
    const journal = new Journal(disk, options);
    journal.replayed = replayed;
    return journal.opened(journal.recover());
  }

  /**
   * Journal.open for a node that shares its event loop with others (the embedded cluster): the
   * same recovery, with `pause()` awaited whenever it has run `sliceMs` since the last. Recovery
   * reads and checks every record the node kept (up to the retention, 4 GiB by default), so done
   * at once it stopped every other node in the process for as long: 257 ms after two minutes at
   * 2 000 appends/s on 5 × 256.
   */
  static async openPaced(disk: Disk, options: JournalOptions, pause: () => Promise<void>, replayed: ReplayObserver | null = null, sliceMs = RECOVERY_SLICE_MS): Promise<OpenedJournal> {
    const journal = new Journal(disk, options);
    journal.replayed = replayed;
    const steps = journal.recoverySteps();
    let sliceStart = performance.now();
    for (;;) {
      const step = steps.next();
      if (step.done === true) return journal.opened(step.value);
      if (performance.now() - sliceStart < sliceMs) continue;
      try {
        await pause();
      } catch (error) {
        journal.close();
        throw error;
      }
      sliceStart = performance.now();
    }
  }

  private opened(report: RecoveryReport): OpenedJournal {
    // Only the first recovery's: the one after a failed flush rebuilds a journal already in use.
    this.replayed = null;
    // Recovered entries are written and uncached: all but each table's last chunk seal at once.
    for (const log of this.logs.values()) log.table.seal(this.cache.liveFrom);
    const segment = this.segments[this.segments.length - 1];
    const state = this.stateFiles[this.stateFiles.length - 1];
    this.progress = {
      segments: Math.max(this.found.segments, segment === undefined ? 0 : progressOf(segment.seq, segment.durableBytes)),
      states: Math.max(this.found.states, state === undefined ? 0 : progressOf(state.seq, state.file.size())),
    };
    return { journal: this, report };
  }

  /**
   * How far this journal's durable writes have come: the newest segment and state file and where
   * their synced records end, each as one number (sequence × 2^32 + bytes). Both only grow while
   * the journal runs, and recovery finds at least what completed flushes left: it counts what
   * identifiers name and what the files held before it cut anything, so a crash's torn write, a
   * rot or a cut tail (kept as faulty tails) take nothing from it. A node restarted with less than
   * a peer saw it report was put back to an older copy of its disk (a rollback: LogNode tells it
   * so, see its hellos).
   */
  durableProgress(): Readonly<DurableProgress> {
    return this.progress;
  }

  log(partition: number): PartitionLog {
    invariant(Number.isInteger(partition) && partition >= 0 && partition <= PARTITION_MAX, `bad partition ${partition}`);
    let log = this.logs.get(partition);
    if (log === undefined) {
      log = new PartitionLog(partition, this);
      this.logs.set(partition, log);
    }
    return log;
  }

  partitions(): number[] {
    return [...this.logs.keys()].sort((a, b) => a - b);
  }

  appendEntries(partition: number, entries: readonly Entry[]): void {
    invariant(!this.closed, 'journal closed');
    if (entries.length === 0) return;
    const log = this.log(partition);
    const batch = this.staged;
    let from = 0;
    while (from < entries.length) {
      // One record per ~RECORD_ENTRIES_BYTES_TARGET of data; at least one entry per record.
      let to = from;
      let bytes = 0;
      do {
        const entry = entries[to]!;
        invariant(entry.data.length <= ENTRY_DATA_BYTES_MAX, `entry ${entry.index} of ${entry.data.length} bytes is over ${ENTRY_DATA_BYTES_MAX}`);
        bytes += ENTRY_HEADER_BYTES + entry.data.length;
        to++;
      } while (to < entries.length && bytes + ENTRY_HEADER_BYTES + entries[to]!.data.length <= RECORD_ENTRIES_BYTES_TARGET);
      const chunk = entries.slice(from, to);
      const recordPosition = batch.recordBytes;
      const record = encodeEntries(partition, chunk);
      batch.identifiers.push(recordIdentifier(partition, recordPosition, record.bytes, record.crc, chunk[0]!, chunk[chunk.length - 1]!));
      const metas: EntryMeta[] = [];
      let dataPosition = recordPosition + RECORD_PREFIX_BYTES + RECORD_BODY_HEADER_BYTES + ENTRIES_COUNT_BYTES;
      for (const entry of chunk) {
        dataPosition += ENTRY_HEADER_BYTES;
        metas.push({ index: entry.index, term: entry.term, offset: entry.offset, count: entry.count, segment: -batch.id, position: dataPosition, dataBytes: entry.data.length });
        dataPosition += entry.data.length;
      }
      invariant(dataPosition === recordPosition + record.bytes, 'entries record layout');
      applyEntries(log, metas, false);
      for (const entry of chunk) {
        log.data.set(entry.index, entry.data);
        batch.written.push({ log, index: entry.index, data: entry.data });
      }
      batch.records.push(...record.parts);
      batch.recordBytes += record.bytes;
      batch.located.add(log);
      from = to;
    }
    // Postcondition: what was staged reads back.
    const last = entries[entries.length - 1]!;
    invariant(log.lastIndex() === last.index && log.term(last.index) === last.term && log.lastOffsetEnd() === last.offset + last.count, 'appendEntries postcondition');
  }

  setHardState(partition: number, hs: HardState): void {
    invariant(!this.closed, 'journal closed');
    const log = this.log(partition);
    invariant(hs.term >= log.hard.term, () => `partition ${partition}: hard state term ${hs.term} below ${log.hard.term}`);
    invariant(Number.isSafeInteger(hs.commit) && hs.commit >= 0 && Number.isInteger(hs.vote) && hs.vote >= 0 && hs.vote < UINT32, 'bad hard state');
    log.hard = hs;
    this.staged.hardStates.set(partition, hs);
  }

  applySnapshot(partition: number, snap: SnapshotMeta): void {
    invariant(!this.closed, 'journal closed');
    const log = this.log(partition);
    if (snap.index <= log.start.index) return; // Stale: the log already starts at or after it.
    const kept = snap.index <= log.lastIndex() && log.term(snap.index) === snap.term;
    this.stageStart(log, snap, kept);
    invariant(log.firstIndex() === snap.index + 1 && log.lastIndex() >= snap.index, 'applySnapshot postcondition');
  }

  flush(done: IoCallback): void {
    invariant(!this.closed, 'journal closed');
    const staged = this.staged;
    if (staged.records.length === 0 && staged.hardStates.size === 0 && staged.removeAfter.length === 0 && staged.removeMarkersAfter.length === 0) {
      // Nothing new: done when what is already in flight is durable.
      if (this.inFlight !== null) this.inFlight.waiters.push(done);
      else done(null);
      return;
    }
    staged.waiters.push(done);
    this.startFlushIfDue();
  }

  /** Starts the next batch's flush when one waits and none is in flight. */
  private startFlushIfDue(): void {
    if (this.inFlight === null && !this.closed && this.staged.waiters.length > 0) this.startFlush();
  }

  /**
   * A leader repaired this partition's faulty tail (raft says so): its marker goes once everything
   * staged so far — the entries that repaired it — is durable.
   */
  clearFaulty(partition: number): void {
    invariant(!this.closed, 'journal closed');
    const log = this.log(partition);
    if (log.faultyMarkers.length === 0 && log.setAsideFiles.length === 0) return;
    this.staged.removeMarkersAfter.push(...log.faultyMarkers, ...log.setAsideFiles);
    log.faultyMarkers = [];
    log.setAsideFiles = [];
    log.setAside = null;
    log.faulty = null;
  }

  pendingBytes(): number {
    return flushBytes(this.staged) + (this.inFlight === null ? 0 : flushBytes(this.inFlight));
  }

  /**
   * `deletableUpTo(partition)` is the highest index retention may delete for that partition (the
   * replica's applied commit): uncommitted or unapplied entries are never cut, so a segment that
   * holds any stops retention there. `stateAt(partition, start)` is what the new start record keeps
   * of the entries before it (SnapshotMeta.state: the producers applying them left).
   */
  enforceRetention(
    deletableUpTo: (partition: number) => number = () => Number.POSITIVE_INFINITY,
    stateAt: (partition: number, start: SnapshotMeta) => Uint8Array | undefined = () => undefined,
  ): number {
    invariant(!this.closed, 'journal closed');
    const candidates = this.segments.slice(0, -1).filter((segment) => !segment.deleting);
    let totalBytes = 0;
    for (const segment of this.segments) if (!segment.deleting) totalBytes += segment.file.size();
    const nowMs = this.options.now();
    const cut: SegmentInfo[] = [];
    let deletedBytes = 0;
    for (const segment of candidates) {
      if (totalBytes - deletedBytes <= this.options.retentionBytes && nowMs - segment.lastWriteMs <= this.options.retentionMs) break;
      let holdsLiveEntries = false;
      for (const log of this.logs.values()) {
        const lastIndexCut = log.start.index + log.table.countInSegmentsUpTo(segment.seq);
        if (lastIndexCut > deletableUpTo(log.partition)) holdsLiveEntries = true;
      }
      if (holdsLiveEntries) break;
      cut.push(segment);
      deletedBytes += segment.file.size();
    }
    const lastCut = cut[cut.length - 1];
    if (lastCut === undefined) return 0;
    for (const log of this.logs.values()) {
      const n = log.table.countInSegmentsUpTo(lastCut.seq);
      const startDeleted = log.startSegment > 0 && log.startSegment <= lastCut.seq;
      if (n === 0 && !startDeleted) continue;
      // The new start must be durable before the segments go, so recovery finds it.
      let start: SnapshotMeta = log.start;
      if (n > 0) {
        const next = { index: log.start.index + n, term: log.table.term(n - 1), nextOffset: log.table.offset(n - 1) + log.table.count(n - 1) };
        const state = stateAt(log.partition, next);
        start = state === undefined ? next : { ...next, state };
      }
      this.stageStart(log, start, true);
      // No entry left: the start record is all the segments will say of this log (see startMarkerName).
      if (start.index > 0 && log.lastIndex() === start.index) this.markStart(log, start);
    }
    for (const segment of cut) {
      segment.deleting = true;
      this.staged.removeAfter.push(segment);
    }
    this.flush(() => {});
    return deletedBytes;
  }

  /** The logs' entry tables, the index that grows with every entry kept: entries and bytes of memory. */
  indexStats(): { entries: number; bytes: number } {
    let entries = 0;
    let bytes = 0;
    for (const log of this.logs.values()) {
      entries += log.table.length;
      bytes += log.table.memoryBytes;
    }
    return { entries, bytes };
  }

  usedBytes(): number {
    // Every file the journal owns: segments, their identifiers, both copies of each state file.
    const onDisk = this.identifiersOn ? new Set(this.disk.list()) : new Set<string>();
    let bytes = 0;
    for (const segment of this.segments) {
      bytes += segment.file.size();
      const ids = identifiersFileName(segment.name);
      if (onDisk.has(ids)) bytes += this.openFile(ids).size();
    }
    for (const state of this.stateFiles) bytes += state.file.size() + state.copy.size();
    return bytes;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const log of this.waitingFetches) this.fetchEnded(log, new Error('journal closed'));
    this.waitingFetches.clear();
    for (const file of this.files.values()) file.close();
    this.files.clear();
  }

  /**
   * @internal Entry data held in memory for a log read: pending, or a copy from the cache. Never a
   * view into the cache, whose slabs are reused: entries read here go into messages that wait for
   * the next round (or another node's flush, in process) and into read answers a client keeps.
   */
  memoryData(log: PartitionLog, index: number): Uint8Array | null {
    const pending = log.data.get(index);
    if (pending !== undefined) return pending;
    const fetched = this.takeFetched(log, index);
    if (fetched !== null) return fetched;
    const i = index - log.start.index - 1;
    const slab = log.table.cacheSlab(i);
    if (slab < 0) return null;
    const cached = this.cache.read(slab, log.table.cacheOffset(i), log.table.bytes(i));
    if (cached === null) return null;
    const copy = allocBytes(cached.length);
    copy.set(cached);
    return copy;
  }

  /**
   * What log reads took from segments since the journal opened (of it, what background reads took,
   * see fetchInBackground), and how often the read budget held them back.
   */
  readStats(): { segmentBytes: number; backgroundBytes: number; throttled: number } {
    return { segmentBytes: this.segmentReadBytes, backgroundBytes: this.backgroundReadBytes, throttled: this.readsThrottled };
  }

  /** @internal A log read was cut short, or a leader waits, for the read budget. */
  noteReadThrottled(): void {
    this.readsThrottled++;
  }

  /** @internal Bytes log reads may take from segments now. */
  segmentReadBudget(): number {
    const now = this.options.now();
    const rate = this.options.segmentReadBytesPerSec ?? SEGMENT_READ_BYTES_PER_SEC;
    if (now > this.readTokensAtMs) {
      this.readTokens = Math.min(rate * SEGMENT_READ_BURST_SECONDS, this.readTokens + ((now - this.readTokensAtMs) * rate) / 1000);
      this.readTokensAtMs = now;
    }
    return this.readTokens;
  }

  /** @internal Whether memoryData has entry `index`. */
  inMemory(log: PartitionLog, index: number): boolean {
    if (log.data.get(index) !== undefined) return true;
    if (log.fetched.size > 0 && this.fetchedValid(log, index) !== undefined) return true;
    const slab = log.table.cacheSlab(index - log.start.index - 1);
    return slab >= 0 && slab >= this.cache.liveFrom;
  }

  /**
   * @internal Data of entries [from, to) of `log`, none of them in memory (see memoryData), from
   * their segments, up to the returned index (short of `to` only after a read that was slow, see
   * SLOW_READ_WINDOW_BYTES): entries close together in one segment are read with one read (a follower
   * catching up, or a consumer far behind, asks for thousands in a row; one read each cost ~1.7 µs
   * an entry on the event loop). What is read here is not cached: a scan of old entries would
   * otherwise push out the recent ones that followers and tailing consumers need.
   *
   * Every record a read touches is checked as recovery checks it (length, CRC32C) and each entry's
   * header against the index, so a byte that rotted since recovery is never sent to a follower,
   * which would store it under a CRC of its own, or to a consumer: the read throws CorruptReadError
   * instead. The read starts at the first entry's record and runs to the last one's end, so it takes
   * the records' headers and, at the ends, the rest of a record only partly wanted (at most ~64 KiB).
   */
  segmentData(log: PartitionLog, from: number, to: number, out: Uint8Array[], rationed: boolean): number {
    const table = log.table;
    const base = log.start.index + 1;
    let read = 0;
    let index = from;
    while (index < to) {
      const i = index - base;
      const seq = table.segment(i);
      invariant(seq > 0, () => `partition ${log.partition} entry ${index}: pending entry without data`);
      const spanStart = table.position(i);
      let spanEnd = spanStart + table.bytes(i);
      let last = index + 1;
      for (; last < to; last++) {
        const j = last - base;
        const position = table.position(j);
        const end = position + table.bytes(j);
        if (table.segment(j) !== seq || position < spanEnd || position - spanEnd > READ_GAP_BYTES_MAX || end - spanStart > BLOCKING_READ_SPAN_BYTES_MAX) break;
        spanEnd = end;
      }
      const segment = this.segments.find((s) => s.seq === seq);
      invariant(segment !== undefined, () => `partition ${log.partition} entry ${index}: segment ${seq} is gone`);
      const recordStart = recordStartOf(log, i);
      // Timed only where it decides something: 'when-slow' on a disk that can read in the background.
      const judged = this.options.backgroundReads === 'when-slow' && segment.file.readIntoAsync !== undefined;
      const startedMs = judged ? this.readClock() : 0;
      const span = segment.file.read(recordStart, spanEnd - recordStart);
      const slow = judged && this.blockingReadTook(span.length, this.readClock() - startedMs);
      read += span.length + this.takeSpan(log, segment, span, recordStart, index, last, (_index, data) => out.push(data));
      index = last;
      // From the device: this read stops here, and the next ones go to the thread pool.
      if (slow) break;
    }
    if (rationed) this.readTokens -= read;
    this.segmentReadBytes += read;
    return index;
  }

  /** Counts a blocking read into the window (see SLOW_READ_WINDOW_BYTES); true when it ended a window that was slow. */
  private blockingReadTook(bytes: number, ms: number): boolean {
    this.blockingWindowBytes += bytes;
    this.blockingWindowMs += ms;
    // One read that took SLOW_READ_MS is the device already (128 KiB from the page cache take ~40 µs).
    if (ms < SLOW_READ_MS && this.blockingWindowBytes < SLOW_READ_WINDOW_BYTES && this.blockingWindowMs < SLOW_READ_WINDOW_MS) return false;
    const slow = ms >= SLOW_READ_MS || this.blockingWindowMs * SLOW_READ_BYTES_PER_MS > this.blockingWindowBytes;
    this.blockingWindowBytes = 0;
    this.blockingWindowMs = 0;
    if (slow) this.slowReadsUntilMs = this.readClock() + SLOW_READ_HOLD_MS;
    return slow;
  }

  /**
   * Checks the records of `span` (segment bytes from `recordStart`, a record start) and hands out
   * the data of entries [from, to) of `log` that it holds, in order. Returns the bytes read past it
   * (the last record's rest, for its CRC); throws CorruptReadError at a bad record or entry header.
   */
  private takeSpan(log: PartitionLog, segment: SegmentInfo, span: Uint8Array, recordStart: number, from: number, to: number, take: (index: number, data: Uint8Array) => void, sparse = false): number {
    const table = log.table;
    const base = log.start.index + 1;
    let useful = 0;
    for (let index = from; index < to; index++) useful += table.bytes(index - base);
    let starts: number[] | null = null;
    if (sparse) {
      // Only this partition's records: the first starts the span; each later one where an entry
      // does not follow the one before it (see recordStartOf).
      starts = [0];
      for (let index = from + 1; index < to; index++) {
        const j = index - base;
        const position = table.position(j);
        if (position !== table.position(j - 1) + table.bytes(j - 1) + ENTRY_HEADER_BYTES) starts.push(position - FIRST_ENTRY_DATA_AT - recordStart);
      }
    }
    const extra = this.checkRecords(segment, span, recordStart, log.partition, from, starts);
    // Views pin the whole span while any entry of it is held (a message, a client's answer): only
    // when at least half of it is entry data; else each entry gets its own copy.
    const views = useful * 2 >= span.length;
    const view = new DataView(span.buffer, span.byteOffset, span.byteLength);
    for (let index = from; index < to; index++) {
      const j = index - base;
      const at = table.position(j) - recordStart;
      const header = at - ENTRY_HEADER_BYTES;
      // The CRC says the record is what was written; its header says it is the entry the index
      // means (a misdirected write can leave a valid record where another belonged).
      if (header < 0 || getU64(view, header) !== index || getU64(view, header + 8) !== table.term(j) || view.getUint32(header + 28, true) !== table.bytes(j)) {
        throw new CorruptReadError(segment.name, recordStart + Math.max(0, header), log.partition, index, 'the entry header there is not the entry the index names');
      }
      const data = span.subarray(at, at + table.bytes(j));
      take(index, views ? data : data.slice());
    }
    return extra;
  }

  /**
   * @internal Reads entries of `log` from `index` on (those not in memory, up to `maxBytes`) from
   * their segments in the thread pool, within the read budget, so that a read from the device never
   * holds up the event loop that serves appends; the records are checked when the read arrives, as
   * a blocking read checks them. What it read is held (at most FETCHED_BYTES_MAX over all
   * partitions) until a log read takes it (memoryData), and onFetched is told; so is `waiter`, if
   * given. With the read budget spent, the read waits for the node's next tick (startWaitingFetches).
   *
   * Returns false when there is nothing to wait for, and the caller reads as before: the entry is
   * in memory, the disk reads only blocking (the memory disk), or the fetched entries held are at
   * their bound. True: a read is under way for this log (maybe from another index: the caller asks
   * again once told).
   */
  fetchInBackground(log: PartitionLog, index: number, maxBytes: number, waiter: ((failure: Error | null) => void) | null, rationed = true): boolean {
    if (this.closed || index <= log.start.index || index > log.lastIndex() || this.inMemory(log, index)) return false;
    const mode = this.options.backgroundReads ?? 'always';
    if (mode === 'never' || (mode === 'when-slow' && log.fetchState === 'idle' && this.readClock() >= this.slowReadsUntilMs)) return false;
    let wasWaiting = false;
    if (log.fetchState === 'waiting' && !rationed) {
      // A client's read does not wait for the budget: the read waiting for it goes now, from here.
      this.waitingFetches.delete(log);
      log.fetchState = 'idle';
      wasWaiting = true;
    }
    if (log.fetchState === 'idle') {
      const seq = log.table.segment(index - log.start.index - 1);
      const segment = this.segments.find((s) => s.seq === seq);
      log.fetchFrom = index;
      log.fetchBytes = Math.max(1, Math.min(maxBytes, FETCH_BYTES_MAX));
      if (segment?.file.readIntoAsync === undefined || this.fetchedBytes >= FETCHED_BYTES_MAX || ((!rationed || this.segmentReadBudget() > 0) && !this.startFetch(log))) {
        // Read blocking, then; who waited for the read that waited for the budget asks again, as
        // when startWaitingFetches cannot start one.
        if (wasWaiting) this.fetchEnded(log, null);
        return false;
      }
      if (log.fetchState === 'idle') {
        this.noteReadThrottled();
        log.fetchState = 'waiting';
        this.waitingFetches.add(log);
      }
    }
    if (waiter !== null) log.fetchWaiters.push(waiter);
    return true;
  }

  /**
   * Starts the background reads that waited for the read budget, and drops fetched entries nobody
   * took in FETCHED_KEEP_MS; the node calls it on every tick.
   */
  startWaitingFetches(): void {
    if (this.closed) return;
    for (const log of this.waitingFetches) {
      if (this.segmentReadBudget() <= 0) break;
      this.waitingFetches.delete(log);
      log.fetchState = 'idle';
      const index = log.fetchFrom;
      if (index <= log.start.index || index > log.lastIndex() || this.inMemory(log, index) || !this.startFetch(log)) this.fetchEnded(log, null);
    }
    if (this.fetchedLogs.size === 0) return;
    const keepFrom = this.options.now() - FETCHED_KEEP_MS;
    for (const log of this.fetchedLogs) {
      for (const [index, entry] of log.fetched) if (entry.atMs < keepFrom) this.dropFetched(log, index, entry);
      if (log.fetched.size === 0) this.fetchedLogs.delete(log);
    }
  }

  /** Plans and issues the reads of log.fetchFrom onward (see fetchInBackground); false when there is nothing to read. */
  private startFetch(log: PartitionLog): boolean {
    const table = log.table;
    const base = log.start.index + 1;
    // At least the first entry (with the rest of its record), as a blocking read takes it, so every
    // read makes progress: a client's read without waiting for the budget, the rest within it.
    const limit = Math.max(1, Math.min(log.fetchBytes, this.segmentReadBudget()));
    const spans: FetchSpan[] = [];
    let bytes = 0;
    let index = log.fetchFrom;
    while (index <= log.lastIndex() && !this.inMemory(log, index)) {
      const i = index - base;
      const seq = table.segment(i);
      if (seq <= 0 || (index > log.fetchFrom && bytes + table.bytes(i) > limit)) break;
      const segment = this.segments.find((s) => s.seq === seq);
      if (segment === undefined || segment.deleting || segment.file.readIntoAsync === undefined) break;
      const spanStart = table.position(i);
      let spanEnd = spanStart + table.bytes(i);
      bytes += table.bytes(i);
      let last = index + 1;
      for (; last <= log.lastIndex(); last++) {
        const j = last - base;
        const position = table.position(j);
        const end = position + table.bytes(j);
        if (table.segment(j) !== seq || position < spanEnd || position - spanEnd > BACKGROUND_READ_GAP_BYTES_MAX || end - spanStart > READ_SPAN_BYTES_MAX || bytes + table.bytes(j) > limit || this.inMemory(log, last)) break;
        spanEnd = end;
        bytes += table.bytes(j);
      }
      // To the end of the record holding the last entry, which its CRC covers: the check then needs
      // no second read (it does one, blocking, when a cut log no longer knows the record's end).
      // The record's other entries come too (they are read anyway), unless in memory already.
      const recordStart = recordStartOf(log, i);
      const lastInRecord = recordLastEntry(log, last - 1 - base);
      while (last <= lastInRecord + base && !this.inMemory(log, last)) bytes += table.bytes(last++ - base);
      const end = Math.min(table.position(lastInRecord) + table.bytes(lastInRecord), segment.durableBytes);
      spans.push({ segment, from: index, to: last, recordStart, end, lastPosition: table.position(last - 1 - base), buffer: allocBytes(end - recordStart), error: null });
      index = last;
    }
    if (spans.length === 0) return false;
    let read = 0;
    for (const span of spans) read += span.end - span.recordStart;
    // The budget is the loop's (see SEGMENT_READ_BYTES_PER_SEC): what it checks and copies, the
    // entries; other partitions' records between them are only copied by the pool.
    this.readTokens -= bytes;
    this.segmentReadBytes += read;
    this.backgroundReadBytes += read;
    log.fetchState = 'reading';
    let pending = spans.length;
    const startedMs = this.readClock();
    for (const span of spans) {
      this.readInPool(span.segment, span.recordStart, span.buffer, span.end - span.recordStart, (error) => {
        span.error = error;
        if (--pending > 0) return;
        // 'when-slow': still from the device, reads stay in the pool (else they block again once the
        // hold ends, each time for a read from the device).
        if (this.readClock() - startedMs >= SLOW_READ_MS) this.slowReadsUntilMs = this.readClock() + SLOW_READ_HOLD_MS;
        this.fetchArrived(log, spans);
      });
    }
    return true;
  }

  /**
   * A background read of `segment` (a fetch's or the scrub's), issued once fewer than
   * BACKGROUND_READS_IN_FLIGHT_MAX are in the pool. One that waited is not issued if the journal
   * closed or the segment went meanwhile (its file may be closed): it answers at once, and
   * fetchArrived and scrubReadDone keep nothing of it.
   */
  private readInPool(segment: SegmentInfo, position: number, target: Uint8Array, length: number, done: (error: Error | null) => void): void {
    const issue = (): void => {
      if (this.closed || this.segmentGone(segment)) {
        this.backgroundReadQueue.shift()?.(); // it took no place in the pool: the next one does
        done(null);
        return;
      }
      this.backgroundReadsInFlight++;
      segment.file.readIntoAsync!(position, target, length, (error) => {
        this.backgroundReadsInFlight--;
        this.backgroundReadQueue.shift()?.();
        done(error);
      });
    };
    if (this.backgroundReadsInFlight < BACKGROUND_READS_IN_FLIGHT_MAX) issue();
    else this.backgroundReadQueue.push(issue);
  }

  /** Whether retention (or a recovery that rebuilt the list) took `segment` away since a read of it was planned. */
  private segmentGone(segment: SegmentInfo): boolean {
    return segment.deleting || !this.segments.includes(segment);
  }

  /** Every read of a background fetch of `log` answered: check and keep what they read. */
  private fetchArrived(log: PartitionLog, spans: readonly FetchSpan[]): void {
    log.fetchState = 'idle';
    if (this.closed) return this.fetchEnded(log, new Error('journal closed'));
    const table = log.table;
    const base = log.start.index + 1;
    const now = this.options.now();
    let failure: Error | null = null;
    try {
      for (const span of spans) {
        const { segment, from, to, recordStart } = span;
        // Retention removed the segment meanwhile, or the log moved on (a new start, a cut, entries
        // written again elsewhere): what was read is no longer what the index names. Not a fault.
        if (this.segmentGone(segment)) continue;
        if (from <= log.start.index || to - 1 > log.lastIndex() || table.segment(from - base) !== segment.seq || table.segment(to - 1 - base) !== segment.seq || table.position(to - 1 - base) !== span.lastPosition || recordStartOf(log, from - base) !== recordStart) continue;
        if (span.error !== null) throw new DiskReadError(segment.name, recordStart, span.error);
        const extra = this.takeSpan(log, segment, span.buffer, recordStart, from, to, (index, data) => {
          if (log.data.get(index) !== undefined || log.fetched.has(index)) return;
          log.fetched.set(index, { data, seq: segment.seq, position: table.position(index - base), atMs: now });
          this.fetchedBytes += data.length;
        }, true);
        this.segmentReadBytes += extra;
        if (log.fetched.size > 0) this.fetchedLogs.add(log);
      }
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    }
    this.fetchEnded(log, failure);
  }

  /** A background fetch of `log` ended: tell who waits. */
  private fetchEnded(log: PartitionLog, failure: Error | null): void {
    const waiters = log.fetchWaiters;
    log.fetchWaiters = [];
    for (const waiter of waiters) waiter(failure);
    if (!this.closed) this.options.onFetched?.(log.partition, failure);
  }

  /** The fetched entry `index` of `log`, while the index still names where it was read from. */
  private fetchedValid(log: PartitionLog, index: number): FetchedEntry | undefined {
    const entry = log.fetched.get(index);
    if (entry === undefined) return undefined;
    const i = index - log.start.index - 1;
    if (index > log.start.index && index <= log.lastIndex() && log.table.segment(i) === entry.seq && log.table.position(i) === entry.position) return entry;
    this.dropFetched(log, index, entry);
    return undefined;
  }

  /** Takes the fetched entry `index` of `log` out of memory (a log read uses it once). */
  private takeFetched(log: PartitionLog, index: number): Uint8Array | null {
    if (log.fetched.size === 0) return null;
    const entry = this.fetchedValid(log, index);
    if (entry === undefined) return null;
    this.dropFetched(log, index, entry);
    return entry.data;
  }

  private dropFetched(log: PartitionLog, index: number, entry: FetchedEntry): void {
    log.fetched.delete(index);
    this.fetchedBytes -= entry.data.length;
  }

  /**
   * Checks each record of `span` (segment bytes from `at`, where a record starts) as recovery
   * would, or only those starting at `starts` (offsets in the span, in order: the records of one
   * partition in a span that joins them across others'); the last one may run past the span, and
   * is read to its end for its CRC. Returns the bytes read for that; throws CorruptReadError at the
   * first bad record.
   */
  private checkRecords(segment: SegmentInfo, span: Uint8Array, at: number, partition: number, index: number, starts: readonly number[] | null = null): number {
    const view = new DataView(span.buffer, span.byteOffset, span.byteLength);
    const bad = (p: number, what: string): CorruptReadError => new CorruptReadError(segment.name, at + p, partition, index, what);
    let extra = 0;
    let p = 0;
    let k = 0;
    while (starts === null ? p < span.length : k < starts.length) {
      if (starts !== null) p = starts[k++]!;
      // Every record that starts inside the span has its prefix there (the last one holds entry data after it).
      if (p + RECORD_PREFIX_BYTES > span.length) throw bad(p, 'a record runs past the data read');
      const length = view.getUint32(p, true);
      if (!saneRecordLength(length)) throw bad(p, `record length ${length}`);
      const end = p + RECORD_PREFIX_BYTES + length;
      let crc = crc32c(span.subarray(p + RECORD_PREFIX_BYTES, Math.min(end, span.length)));
      if (end > span.length) {
        // Past the durable end (not the file's size, which counts a flush in flight: bytes not there to read yet).
        if (at + end > segment.durableBytes) throw bad(p, `record length ${length} runs past the segment's durable end`);
        const rest = segment.file.read(at + span.length, end - span.length);
        extra += rest.length;
        crc = crc32c(rest, crc);
      }
      if (crc !== view.getUint32(p + 4, true)) throw bad(p, 'CRC32C mismatch');
      p = end;
    }
    return extra;
  }

  /**
   * Reads on where the last call stopped through the segments' durable records, oldest segment
   * first, and checks each as recovery does (length, CRC32C), at most SCRUB_BYTES_PER_SEC on average:
   * the node calls it on every tick. Reads only find rot in what they read, and a follower's or a
   * tailing consumer's reads come from memory, so a byte that rots in cold data would otherwise wait
   * for a restart (ZFS and TigerBeetle scrub for the same reason). A pass ends at the newest
   * segment's durable end; the next starts SCRUB_PASS_INTERVAL_MS after it started, or when it
   * ends if later (the first, that long after recovery, which checked every record too). Where the
   * disk reads in the thread pool, a call issues one read and its records are checked when it
   * arrives. Throws CorruptReadError at a bad record (found by this call, or by the last read to
   * arrive): the node stops as on a bad read, and its restart's recovery cuts there and has the
   * rest fetched again; DiskReadError when the device failed a read. Returns the bytes read or
   * issued (a record a read ended inside is read again by the next).
   */
  scrub(): number {
    // What the last read in the thread pool found: thrown here, where the node catches it.
    const failure = this.scrubFailure;
    if (failure !== null) {
      this.scrubFailure = null;
      throw failure;
    }
    const rate = this.options.scrubBytesPerSec ?? SCRUB_BYTES_PER_SEC;
    if (rate <= 0 || this.closed || this.scrubInFlight) return 0;
    const now = this.options.now();
    if (this.scrubSeq === 0) {
      if (now < this.scrubPassStartedMs + (this.options.scrubPassIntervalMs ?? SCRUB_PASS_INTERVAL_MS)) return 0;
      this.scrubPassStartedMs = now;
      this.scrubSeq = 1;
      this.scrubAt = 0;
      this.scrubNeed = 0;
      this.scrubTokensAtMs = now;
    }
    // Reads of a whole step at a time: a read ends inside a record, which the next one reads again.
    const step = Math.min(SCRUB_CHUNK_BYTES, rate);
    if (now > this.scrubTokensAtMs) {
      this.scrubTokens = Math.min(step, this.scrubTokens + ((now - this.scrubTokensAtMs) * rate) / 1000);
      this.scrubTokensAtMs = now;
    }
    if (this.scrubTokens < step) return 0;
    let read = 0;
    while (this.scrubTokens > 0) {
      // Segments are in seq order; one that retention is deleting goes soon, so it is skipped.
      const segment = this.segments.find((s) => s.seq >= this.scrubSeq && !s.deleting);
      if (segment === undefined) {
        this.scrubSeq = 0; // the pass is done
        this.scrubPasses++;
        break;
      }
      if (segment.seq !== this.scrubSeq) {
        this.scrubSeq = segment.seq;
        this.scrubAt = 0;
        this.scrubNeed = 0;
      }
      if (this.scrubAt >= segment.durableBytes) {
        if (segment === this.segments[this.segments.length - 1]) {
          this.scrubSeq = 0;
          this.scrubPasses++;
          break;
        }
        this.scrubSeq = segment.seq + 1;
        this.scrubAt = 0;
        this.scrubNeed = 0;
        continue;
      }
      const at = this.scrubAt;
      const end = segment.durableBytes;
      const length = Math.min(Math.max(Math.floor(this.scrubTokens), RECORD_PREFIX_BYTES, this.scrubNeed), end - at);
      this.scrubTokens -= length;
      read += length;
      const buffer = this.scrubBufferOf(length);
      const file = segment.file;
      if (file.readIntoAsync !== undefined) {
        // A read from the device can take milliseconds: the thread pool waits for it, not the
        // event loop that serves appends; the records are checked when it completes. It queues
        // with the fetches for a place in the pool, so a scrub beside a catch-up takes no third.
        this.scrubInFlight = true;
        this.readInPool(segment, at, buffer, length, (error) => this.scrubReadDone(segment, at, end, buffer.subarray(0, length), error));
        break;
      }
      file.readInto(at, buffer, length);
      this.scrubChecked(segment, at, end, buffer.subarray(0, length));
    }
    return read;
  }

  /**
   * The partition whose index places an entry in [start, end) of `segment` (the bytes of one
   * record), or null. An error path: a binary search per partition.
   */
  private partitionOfRecord(segment: SegmentInfo, start: number, end: number): number | null {
    for (const log of this.logs.values()) {
      const table = log.table;
      let located = table.length;
      while (located > 0 && table.segment(located - 1) < 0) located--; // a flush still in flight
      // The first entry at or after (segment, start): entries go forward through segments.
      let lo = 0;
      let hi = located;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const s = table.segment(mid);
        if (s < segment.seq || (s === segment.seq && table.position(mid) < start)) lo = mid + 1;
        else hi = mid;
      }
      if (lo < located && table.segment(lo) === segment.seq && table.position(lo) < end) return log.partition;
    }
    return null;
  }

  /**
   * The partition of the record starting at `start` when its length is what rotted: that hides where
   * the record ends, not where it starts, and an ENTRIES record's first entry sits at a fixed offset
   * from its start, where the index knows whose entry is (-1 when none is).
   */
  private partitionAtRecordStart(segment: SegmentInfo, start: number): number {
    return this.partitionOfRecord(segment, start + FIRST_ENTRY_DATA_AT, start + FIRST_ENTRY_DATA_AT + 1) ?? -1;
  }

  /** An asynchronous scrub read completed: check what it read, unless the pass moved on meanwhile. */
  private scrubReadDone(segment: SegmentInfo, at: number, end: number, bytes: Uint8Array, error: Error | null): void {
    this.scrubInFlight = false;
    if (this.closed) return;
    // Retention closed the segment meanwhile, or startScrubPass began a new pass: nothing to keep.
    if (this.segmentGone(segment) || this.scrubSeq !== segment.seq || this.scrubAt !== at) return;
    if (error !== null) {
      this.scrubFailure = new DiskReadError(segment.name, at, error);
      return;
    }
    try {
      this.scrubChecked(segment, at, end, bytes);
    } catch (thrown) {
      this.scrubFailure = thrown instanceof Error ? thrown : new Error(String(thrown));
    }
  }

  /**
   * Checks the whole records in `bytes` (read at `at` of `segment`, whose durable end was `end`) as
   * recovery does and moves the scrub past them; a record longer than `bytes` is read whole next.
   */
  private scrubChecked(segment: SegmentInfo, at: number, end: number, bytes: Uint8Array): void {
    const bad = (position: number, partition: number, what: string): CorruptReadError => new CorruptReadError(segment.name, position, partition, -1, `${what} (found by the scrub)`, 'scrub');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let p = 0;
    let need = 0;
    while (at + p < end) {
      if (p + RECORD_PREFIX_BYTES > bytes.length) {
        if (p > 0) break;
        throw bad(at, -1, 'a record runs past the durable end');
      }
      const length = view.getUint32(p, true);
      if (!saneRecordLength(length)) throw bad(at + p, this.partitionAtRecordStart(segment, at + p), `record length ${length}`);
      const recordEnd = p + RECORD_PREFIX_BYTES + length;
      if (at + recordEnd > end) throw bad(at + p, this.partitionAtRecordStart(segment, at + p), `record length ${length} runs past the durable end`);
      if (recordEnd > bytes.length) {
        if (p === 0) need = recordEnd; // the next read takes this record whole
        break;
      }
      if (crc32c(bytes.subarray(p + RECORD_PREFIX_BYTES, recordEnd)) !== view.getUint32(p + 4, true)) {
        // The index knows whose record it is; the header's partition field may be the rotted byte.
        const header = view.getUint32(p + RECORD_PREFIX_BYTES + 1, true);
        throw bad(at + p, this.partitionOfRecord(segment, at + p, at + recordEnd) ?? (this.logs.has(header) ? header : -1), 'CRC32C mismatch');
      }
      p = recordEnd;
    }
    this.scrubbedBytes += p;
    this.scrubAt = at + p;
    this.scrubNeed = need;
  }

  /** The scrub's one buffer, grown to hold at least `length` bytes (one read uses it at a time). */
  private scrubBufferOf(length: number): Uint8Array {
    if (this.scrubBuffer.length < length) this.scrubBuffer = new Uint8Array(Math.max(length, SCRUB_CHUNK_BYTES));
    return this.scrubBuffer;
  }

  /** A scrub read is in the thread pool: scrub() reads nothing more until it completes. */
  get scrubReading(): boolean {
    return this.scrubInFlight;
  }

  /** The record bytes the scrub checked since the journal opened, and the passes it finished. */
  scrubStats(): { bytes: number; passes: number } {
    return { bytes: this.scrubbedBytes, passes: this.scrubPasses };
  }

  /**
   * Starts a scrub pass at the oldest segment on the next scrub() call, at the usual rate,
   * ending any pass under way: an operator who suspects the disk (an alert, a drill) wants it
   * checked now, not at the next interval. Returns the bytes the pass will read and its rate;
   * throws when the scrub is off (rate 0).
   */
  startScrubPass(): { bytes: number; bytesPerSec: number } {
    const rate = this.options.scrubBytesPerSec ?? SCRUB_BYTES_PER_SEC;
    if (rate <= 0) throw new Error('the scrub is off on this node (its rate is 0)');
    this.scrubSeq = 0;
    this.scrubNeed = 0;
    this.scrubPassStartedMs = Number.NEGATIVE_INFINITY;
    let bytes = 0;
    for (const segment of this.segments) if (!segment.deleting) bytes += segment.durableBytes;
    return { bytes, bytesPerSec: rate };
  }

  // ---- staging ------------------------------------------------------------------------------

  private newBatch(): Batch {
    return { id: this.nextBatchId++, records: [], recordBytes: 0, located: new Set(), written: [], hardStates: new Map(), removeAfter: [], identifiers: [], removeMarkersAfter: [], waiters: [], flushStartedMs: 0, segmentWritten: null, segmentEnd: 0, stateWritten: null, stateEnd: 0, undo: [], obsoleteStateFiles: [] };
  }

  private stageStart(log: PartitionLog, start: SnapshotMeta, kept: boolean): void {
    const batch = this.staged;
    applyStart(log, start, kept, -batch.id, false);
    const record = encodeSnapshot(log.partition, start, kept);
    batch.records.push(record);
    batch.recordBytes += record.length;
    batch.located.add(log);
  }

  // ---- flushing -----------------------------------------------------------------------------

  private startFlush(): void {
    invariant(this.inFlight === null, 'one batch flushes at a time');
    const batch = this.staged;
    batch.flushStartedMs = this.options.now();
    this.inFlight = batch;
    this.staged = this.newBatch();
    const undo = batch.undo;
    const writes: FlushWrite[] = [];
    let obsoleteStateFiles: StateFileInfo[] = [];

    if (batch.recordBytes > 0) {
      this.countAppended(batch.recordBytes, batch.flushStartedMs);
      let segment = this.activeSegment();
      if (segment.file.size() > 0 && (segment.file.size() + batch.recordBytes > this.options.segmentBytes || this.identifiersOutgrow(segment, batch.identifiers.length) || this.rollToPreallocated(segment))) {
        // A zero-filled segment left early (small records filled its identifiers first) gives its
        // unused zeros back, or they would hold disk space that retention does not count.
        if (segment.file.preallocated === true) segment.file.releaseZeros?.(segment.file.size());
        segment = this.createSegment(segment.seq + 1);
        const created = segment;
        undo.push(() => this.dropSegment(created));
      } else {
        const file = segment.file;
        const sizeBefore = file.size();
        undo.push(() => file.truncate(sizeBefore));
      }
      const base = segment.file.size();
      this.locate(batch, segment.seq, base);
      segment.lastWriteMs = this.options.now();
      batch.segmentWritten = segment;
      batch.segmentEnd = base + batch.recordBytes;
      writes.push({ file: segment.file, data: batch.records });
      if (this.identifiersOn && batch.identifiers.length > 0) {
        // Same flush, separate file: a fault that damages the records leaves their identifiers.
        const ids = this.openFile(identifiersFileName(segment.name), this.preallocating() ? this.identifiersPreallocateBytes() : 0);
        const idsSizeBefore = ids.size();
        undo.push(() => ids.truncate(idsSizeBefore));
        writes.push({ file: ids, data: encodeIdentifiers(batch.identifiers, base) });
      }
    }

    if (batch.hardStates.size > 0) {
      let state = this.activeStateFile();
      let records = [...batch.hardStates].map(([partition, hs]) => encodeHardState(partition, hs));
      const boundBytes = Math.max(STATE_LOG_BYTES_MAX, STATE_LOG_DUMPS_MAX * this.logs.size * STATE_RECORD_BYTES);
      if (state.file.size() + records.length * STATE_RECORD_BYTES > boundBytes) {
        // Compact: a new file with every hard state; the old ones go once it is durable.
        obsoleteStateFiles = this.stateFiles;
        state = this.createStateFile(state.seq + 1);
        const created = state;
        undo.push(() => {
          this.closeAndRemove(created.name);
          this.closeAndRemove(created.copy.name);
          this.stateFiles = this.stateFiles.filter((s) => s !== created);
        });
        records = [...this.logs.values()].map((log) => encodeHardState(log.partition, log.hard));
        obsoleteStateFiles = obsoleteStateFiles.filter((s) => s !== state);
      } else {
        const { file, copy } = state;
        const sizeBefore = file.size();
        const copySizeBefore = copy.size();
        undo.push(() => {
          file.truncate(sizeBefore);
          copy.truncate(copySizeBefore);
        });
      }
      const data = concat(records, records.length * STATE_RECORD_BYTES);
      batch.stateWritten = state;
      batch.stateEnd = state.file.size() + data.length;
      writes.push({ file: state.file, data }, { file: state.copy, data });
    }

    batch.obsoleteStateFiles = obsoleteStateFiles;
    // Every append at once, then one sync per file: records, identifiers and hard states are one
    // step, so the identifiers cost no second device round trip before the ack. A crash may then
    // leave an identifier naming a torn record that was never acknowledged: recovery keeps it as a
    // faulty tail, and raft discards it once no replica holds the entry intact (handleFaultAnswer).
    if (writes.length === 0) this.flushWritten(batch, null); // only segment or marker removals were staged
    else this.writeAll(writes, (failure) => this.flushWritten(batch, failure));
  }

  /** The flush of `batch` ended: it is done (or undone), and the next batch may start. */
  private flushWritten(batch: Batch, failure: Error | null): void {
    invariant(this.inFlight === batch, 'flush ended for the batch in flight');
    this.inFlight = null;
    if (this.closed) {
      for (const waiter of batch.waiters) waiter(failure ?? new Error('journal closed'));
      return;
    }
    if (failure !== null) return this.fail(batch, failure);
    this.finishFlush(batch);
  }

  /** A flush failed: its batch is undone, and everything staged since is dropped. */
  private fail(batch: Batch, failure: Error): void {
    // The files go back to what was durable before, and the in-memory view is rebuilt from
    // them: everything staged since is dropped and its waiters fail too.
    for (const step of batch.undo.reverse()) step();
    const dropped = this.staged;
    this.staged = this.newBatch();
    this.recover();
    for (const waiter of [...batch.waiters, ...dropped.waiters]) waiter(failure);
  }

  /** Whether the flush in flight waits for disk space (see retryBlockedFlush). */
  isBlocked(): boolean {
    return this.blockedRetries.length > 0;
  }

  /** Tries the flush steps that stopped on a full disk again; false when none waits. */
  retryBlockedFlush(): boolean {
    if (this.blockedRetries.length === 0 || this.closed) return false;
    const retries = this.blockedRetries;
    this.blockedRetries = [];
    for (const retry of retries) retry();
    return true;
  }

  /**
   * Appends and syncs every write (all at once); `done` gets the first error, once all answered.
   * On a full disk the files are put back to their sizes before and the step waits for a retry:
   * the batch stays in flight, whole, so nothing is half written and nothing staged is lost.
   */
  private writeAll(writes: readonly FlushWrite[], done: (failure: Error | null) => void): void {
    // Inline arrows over one state object, not a named closure: under tsx (esbuild keepNames) a
    // named closure costs a name definition per flush.
    const state: WriteAllState = { writes, done, remaining: writes.length * 2, failure: null, sizesBefore: writes.map((write) => write.file.size()) };
    for (const write of writes) {
      write.file.append(write.data, (error) => this.writeAnswered(state, error));
      write.file.sync((error) => this.writeAnswered(state, error));
    }
  }

  /** One append or sync of writeAll answered; the last one settles the step. */
  private writeAnswered(state: WriteAllState, error: Error | null): void {
    if (error !== null && state.failure === null) state.failure = error;
    state.remaining--;
    if (state.remaining > 0) return;
    const { writes, done, failure, sizesBefore } = state;
    if (failure instanceof DiskFullError && !this.closed) {
      writes.forEach((write, k) => {
        if (write.file.size() > sizesBefore[k]!) write.file.truncate(sizesBefore[k]!);
      });
      const wasBlocked = this.diskFull;
      this.diskFull = true;
      this.blockedRetries.push(() => this.writeAll(writes, done));
      if (!wasBlocked) this.options.onDiskFull?.(true);
      return;
    }
    if (failure === null && this.diskFull && this.blockedRetries.length === 0) {
      this.diskFull = false;
      this.options.onDiskFull?.(false);
    }
    done(failure);
  }

  /** Between a flush stopped by a full disk and the next one that went through. */
  private diskFull = false;

  /** Turns the batch-relative locations of the batch's entries and log starts into real ones. */
  private locate(batch: Batch, seq: number, base: number): void {
    for (const log of batch.located) {
      if (log.startSegment === -batch.id) log.startSegment = seq;
      if (log.headRecordSegment === -batch.id) {
        log.headRecordSegment = seq;
        log.headRecordAt += base;
      }
      // Pending entries are only at the tail, and all belong to this batch now.
      for (let i = log.table.length - 1; i >= 0; i--) {
        const segment = log.table.segment(i);
        if (segment >= 0) break;
        invariant(segment === -batch.id, () => `partition ${log.partition}: entry of batch ${-segment} left unwritten`);
        log.table.setLocation(i, seq, base + log.table.position(i));
      }
    }
  }

  /** Everything `batch` wrote is durable: it is done. */
  private finishFlush(batch: Batch): void {
    const obsoleteStateFiles = batch.obsoleteStateFiles;
    for (const { log, index, data } of batch.written) {
      // Unless replaced or dropped since: durable now, so it needs no pin, and it reads from the cache.
      if (log.data.get(index) !== data) continue;
      log.data.delete(index);
      this.cacheAdd(log, index, data);
    }
    // Entries past the cache's reach shrink to their sealed form (see EntryTable).
    for (const log of batch.located) log.table.seal(this.cache.liveFrom);
    for (const state of obsoleteStateFiles) {
      this.closeAndRemove(state.name);
      this.closeAndRemove(state.copy.name);
    }
    if (obsoleteStateFiles.length > 0) this.stateFiles = this.stateFiles.filter((s) => !obsoleteStateFiles.includes(s));
    if (batch.segmentWritten !== null) {
      batch.segmentWritten.durableBytes = Math.max(batch.segmentWritten.durableBytes, batch.segmentEnd);
      this.progress.segments = Math.max(this.progress.segments, progressOf(batch.segmentWritten.seq, batch.segmentEnd));
    }
    if (batch.stateWritten !== null) this.progress.states = Math.max(this.progress.states, progressOf(batch.stateWritten.seq, batch.stateEnd));
    for (const segment of batch.removeAfter) this.dropSegment(segment);
    for (const marker of batch.removeMarkersAfter) this.disk.remove(marker);
    this.options.onFlushed?.(this.options.now() - batch.flushStartedMs, flushBytes(batch));
    for (const waiter of batch.waiters) waiter(null);
    this.startFlushIfDue();
  }

  // ---- cache --------------------------------------------------------------------------------

  /** Copies a written entry's data into the cache (the caller's buffer then dies young). */
  private cacheAdd(log: PartitionLog, index: number, data: Uint8Array): void {
    const i = index - log.start.index - 1;
    if (i < 0 || i >= log.table.length || log.table.segment(i) <= 0 || !log.table.cacheable(i)) return;
    const slab = this.cache.store(data);
    if (slab >= 0) log.table.setCached(i, slab, this.cache.lastOffset);
  }

  // ---- files --------------------------------------------------------------------------------

  private openFile(name: string, preallocateBytes = 0): DiskFile {
    let file = this.files.get(name);
    if (file === undefined) {
      file = preallocateBytes > 0 && this.disk.openPreallocated !== undefined ? this.disk.openPreallocated(name, preallocateBytes) : this.disk.open(name);
      this.files.set(name, file);
    }
    return file;
  }

  private closeAndRemove(name: string): void {
    this.files.get(name)?.close();
    this.files.delete(name);
    this.disk.remove(name);
  }

  private activeSegment(): SegmentInfo {
    const segment = this.segments[this.segments.length - 1];
    invariant(segment !== undefined, 'journal without a segment');
    return segment;
  }

  private activeStateFile(): StateFileInfo {
    const state = this.stateFiles[this.stateFiles.length - 1];
    invariant(state !== undefined, 'journal without a state file');
    return state;
  }

  /**
   * Whether to leave a plain active segment (a fresh journal's first, or the one recovery reopened
   * and cut to its data) for a zero-filled one as soon as the disk has one ready: appends to a
   * growing file commit its size with every sync, and a restarted node would otherwise pay that
   * for up to a whole segment. Asked at most once a second (it may start the preparation).
   */
  private rollToPreallocated(segment: SegmentInfo): boolean {
    const disk = this.disk;
    // Not for the first bytes: a segment that small is not worth a roll (and a journal that only
    // ever writes a little keeps one file).
    if (segment.file.preallocated === true || disk.preallocatedReady === undefined || segment.file.size() < this.options.segmentBytes / PREALLOCATION_ROLL_FRACTION) return false;
    // Asked before preallocatedReady, which would start zero-filling a spare.
    if (!this.preallocating()) return false;
    const nowMs = this.options.now();
    if (nowMs - this.preallocationAskedMs < PREALLOCATION_ASK_MS) return false;
    this.preallocationAskedMs = nowMs;
    const identifiersReady = !this.identifiersOn || disk.preallocatedReady(this.identifiersPreallocateBytes());
    return disk.preallocatedReady(this.options.segmentBytes) && identifiersReady;
  }

  /**
   * Whether `count` more identifiers would run past the zeros of the segment's zero-filled identifier
   * file (records averaging under ~420 bytes): the segment rolls instead, since past its end every
   * durable identifier write would commit a size change again (a metadata commit on each flush).
   */
  private identifiersOutgrow(segment: SegmentInfo, count: number): boolean {
    if (!this.identifiersOn || count === 0) return false;
    const ids = this.files.get(identifiersFileName(segment.name));
    return ids?.preallocated === true && ids.size() + count * IDENTIFIER_BYTES > this.identifiersPreallocateBytes();
  }

  /** Counts a flush's segment bytes into the append rate; a window closes at the first flush a second or more after it opened. */
  private countAppended(bytes: number, nowMs: number): void {
    this.appendWindowBytes += bytes;
    const elapsedMs = nowMs - this.appendWindowStartMs;
    if (elapsedMs < APPEND_RATE_WINDOW_MS) return;
    this.appendBytesPerSec = (this.appendWindowBytes / elapsedMs) * 1000;
    this.appendWindowStartMs = nowMs;
    this.appendWindowBytes = 0;
  }

  /**
   * Whether new segments are zero-filled ahead, by the last whole window's append rate (see
   * PREALLOCATE_BELOW_BYTES_PER_SEC). While appends run fast every new segment is plain; once they
   * slow down, rollToPreallocated leaves the plain one for a zero-filled one.
   */
  private preallocating(): boolean {
    return this.appendBytesPerSec <= (this.options.preallocateBelowBytesPerSec ?? PREALLOCATE_BELOW_BYTES_PER_SEC);
  }

  private identifiersPreallocateBytes(): number {
    return Math.ceil(this.options.segmentBytes / IDENTIFIERS_PREALLOCATE_FRACTION);
  }

  private createSegment(seq: number, preallocate = this.preallocating()): SegmentInfo {
    const name = segmentName(seq);
    // Zero-filled ahead of time where the disk can (etcd's file pipeline): appends only overwrite.
    const segment: SegmentInfo = { seq, name, file: this.openFile(name, preallocate ? this.options.segmentBytes : 0), lastWriteMs: this.options.now(), deleting: false, durableBytes: 0 };
    this.segments.push(segment);
    return segment;
  }

  private dropSegment(segment: SegmentInfo): void {
    this.closeAndRemove(segment.name);
    this.closeAndRemove(identifiersFileName(segment.name));
    this.segments = this.segments.filter((s) => s !== segment);
    if (this.segments.length === 0) this.createSegment(segment.seq + 1);
  }

  private createStateFile(seq: number): StateFileInfo {
    const name = `state-${String(seq).padStart(SEQUENCE_DIGITS, '0')}.log`;
    const state: StateFileInfo = { seq, name, file: this.openFile(name), copy: this.openFile(stateCopyName(name)) };
    this.stateFiles.push(state);
    return state;
  }

  // ---- recovery -----------------------------------------------------------------------------

  /**
   * Rebuilds every log from the files: hard states first, then the segments in order. At the
   * first bad segment record the file is cut there and later segments are deleted.
   * Also used after a failed flush, with the files put back to their durable state.
   */
  private recover(): RecoveryReport {
    return allSteps(this.recoverySteps());
  }

  /** recover(), yielding between steps (a segment's identifiers, RECOVERY_STEP_RECORDS records) where a caller may pause. */
  private *recoverySteps(): Generator<void, RecoveryReport, void> {
    for (const log of this.logs.values()) log.reset();
    this.cache.clear();
    const names = this.disk.list();
    const sequenced = (pattern: RegExp): { seq: number; name: string }[] =>
      names
        .map((name) => ({ name, match: pattern.exec(name) }))
        .filter((x): x is { name: string; match: RegExpExecArray } => x.match !== null)
        .map((x) => ({ seq: Number(x.match[1]), name: x.name }))
        .sort((a, b) => a.seq - b.seq);

    let truncatedBytes = 0;
    let corruption: { file: string; position: number } | null = null;
    let uncertain = false;
    /** Whether records identifiers name were cut (kept as faulty tails instead). */
    let cutNamed = false;

    this.stateFiles = [];
    this.found = { segments: 0, states: 0 };
    for (const { seq, name } of sequenced(STATE_NAME)) {
      const state: StateFileInfo = { seq, name, file: this.openFile(name), copy: this.openFile(stateCopyName(name)) };
      this.stateFiles.push(state);
      this.found.states = Math.max(this.found.states, progressOf(seq, Math.max(state.file.size(), state.copy.size())));
      // Both copies, each up to its first bad record: the newer hard state of the two wins.
      for (const file of [state.file, state.copy]) {
        const size = file.size();
        const bytes = size > 0 ? file.read(0, size) : new Uint8Array(0);
        let position = 0;
        while (position + STATE_RECORD_BYTES <= size) {
          const decoded = decodeHardState(bytes, position);
          if (decoded === null) break;
          const log = this.log(decoded.partition);
          log.hard = newerHardState(log.hard, decoded.hardState);
          position += STATE_RECORD_BYTES;
          // A partition's first log allocates its index's first chunk: 33 ms for 256 of them at once.
          yield;
        }
        if (position < size) {
          file.truncate(position);
          truncatedBytes += size - position;
        }
      }
    }
    const stateFound = this.stateFiles.length > 0;
    if (!stateFound) this.createStateFile(1);

    // Faulty tails found by an earlier recovery and not yet repaired (the log may hold repaired entries since).
    for (const name of names) {
      const marker = parseFaultyMarker(name);
      if (marker === null) continue;
      const log = this.log(marker.partition);
      log.faulty = log.faulty === null ? marker.tail : mergeFaultyTails(log.faulty, marker.tail);
      log.faultyMarkers.push(name);
    }

    // A salvage a crash interrupted before its renames (the records are still where they were), and
    // identifiers whose segment is gone (a crash between the renames, or between a removal's two files).
    for (const name of names) {
      const orphanIds = name.endsWith('.ids') && name.startsWith('seg-') && !names.includes(`${name.slice(0, -'.ids'.length)}.log`);
      if (name.startsWith(SALVAGE_PREFIX) || orphanIds) this.disk.remove(name);
    }

    this.segments = [];
    /** One buffer for every segment's scan (see SegmentScan). */
    let scanBuffer: Uint8Array = new Uint8Array(0);
    let segmentsScanned = 0;
    let recordsRecovered = 0;
    let segmentNames = sequenced(SEGMENT_NAME);
    const nowMs = this.options.now();
    for (let s = 0; s < segmentNames.length; s++) {
      const { seq, name } = segmentNames[s]!;
      const segment: SegmentInfo = { seq, name, file: this.openFile(name), lastWriteMs: nowMs, deleting: false, durableBytes: 0 };
      this.segments.push(segment);
      segmentsScanned++;
      const size = segment.file.size();
      const scan = new SegmentScan(segment.file, size, scanBuffer, this.options.scanChunkBytes ?? SCAN_CHUNK_BYTES);
      const ids = yield* this.readIdentifiersSteps(name);
      yield;
      // Valid records past the last named one: a crash kept a flush's records and not their
      // identifiers (that flush acknowledged nothing), or an identifier was damaged (its record may
      // have been acknowledged). Either way they are in the log now and may be acknowledged from
      // it, so they are named again before that, or a later fault in them would pass for a torn write.
      const unnamedFrom = this.identifiersOn ? namedEnd(ids) : Infinity;
      const renamed: RecordIdentifier[] = [];
      let position = 0;
      let bad = false;
      while (position < size) {
        const window = scan.recordAt(position);
        const end = this.replayRecord(window, position - scan.base, scan.base, seq, position >= unnamedFrom ? renamed : null);
        if (end === null) {
          bad = true;
          break;
        }
        recordsRecovered++;
        position = end;
        if (recordsRecovered % RECOVERY_STEP_RECORDS === 0) yield;
      }
      // Whole records and what identifiers name, however damaged now: a storage fault in them (a
      // rot, a cut tail) leaves this where it was; an older copy of the disk does not.
      this.found.segments = Math.max(this.found.segments, progressOf(seq, Math.max(position, namedEnd(ids))));
      // Identifiers of records at or past the first bad one (or past a clean end: an fsynced tail
      // cut at a record boundary) name records a flush wrote: maybe acknowledged, not surely torn.
      // (Records named again all lie before `position`, so naming them changes none of this.)
      scanBuffer = scan.buffer;
      // What follows the last good record (nothing when the segment ended cleanly), read whole: the
      // checks below look at all of it, and it is the rare path.
      const rest = position < size ? segment.file.read(position, size - position) : new Uint8Array(0);
      const firstLost = ids.findIndex((id) => id.position >= position);
      // The unused rest of a preallocated segment (no identifier names a record there): where its
      // data ends, not a torn write. Zeros where identifiers name records are a lost block instead.
      const unusedZeros = bad && firstLost < 0 && zeroFrom(rest, 0);
      // Cut before the records are named again: on a full disk, these zeros are the room that needs.
      if (unusedZeros) segment.file.truncate(position);
      if (renamed.length > 0) {
        this.openFile(identifiersFileName(name)).appendDurably(encodeIdentifiers(renamed, 0));
        ids.push(...renamed);
      }
      if ((!bad && firstLost < 0) || unusedZeros) continue;
      const later = segmentNames.slice(s + 1);
      const laterHasData = later.some(({ name: laterName }) => this.openFile(laterName).size() > 0);
      // A named record that fails its check in the middle of the log (storage rot, not a torn
      // write): the valid records of other partitions after it are kept (see salvageAfter).
      const badId = bad && firstLost >= 0 && ids[firstLost]!.position === position ? ids[firstLost]! : null;
      const salvagedSeq = (later[later.length - 1]?.seq ?? seq) + 1;
      const salvage = badId === null ? null : this.salvageAfter(segment.file, size, ids, badId, later, salvagedSeq);
      const lost = salvage?.lost ?? [...(firstLost < 0 ? [] : ids.slice(firstLost)), ...later.flatMap(({ name: laterName }) => this.readIdentifiers(laterName))];
      const salvaged = salvage !== null && salvage.bytes > 0 ? { seq: salvagedSeq, name: segmentName(salvagedSeq) } : null;
      if (lost.length > 0) {
        corruption = { file: name, position };
        cutNamed = true;
        this.markFaulty(faultyTails(lost));
      } else if (laterHasData || validRecordFollows(rest, 1)) {
        // Without identifiers, only a bad record with valid data after it is certainly corruption. A
        // bad last record — even full-length — is what a power cut leaves (a torn write, or a sector
        // of garbage), so it is treated as a torn tail: otherwise every such crash would make the
        // replica abstain, and two of three abstaining replicas would leave the partition leaderless.
        corruption = { file: name, position };
        uncertain = true;
      }
      // Newest first, then this segment, then its identifiers: a crash part way leaves a prefix of
      // the log with the bad record still in it, and the salvaged segment (complete) after it, so
      // the next recovery salvages again; a crash between the last two cuts takes what follows the
      // bad record for lost, as recovery did before salvaging.
      for (const { seq: laterSeq, name: laterName } of [...later].reverse()) {
        const laterBytes = this.openFile(laterName).size();
        // Its records are lost or salvaged, not gone back: they count in what recovery found.
        this.found.segments = Math.max(this.found.segments, progressOf(laterSeq, laterBytes));
        truncatedBytes += laterBytes;
        this.closeAndRemove(laterName);
        this.closeAndRemove(identifiersFileName(laterName));
      }
      truncatedBytes += size - position;
      if (position < size) segment.file.truncate(position);
      if (firstLost >= 0) this.openFile(identifiersFileName(name)).truncate(firstLost * IDENTIFIER_BYTES);
      if (salvaged === null) break;
      // The salvaged records are the log's next segment: replayed by the next turn of this loop.
      truncatedBytes -= salvage?.bytes ?? 0;
      segmentNames = [...segmentNames.slice(0, s + 1), salvaged];
    }
    if (this.segments.length === 0) this.createSegment(1);
    // What recovery kept is whole records, each checked just now: that was a scrub pass.
    for (const segment of this.segments) segment.durableBytes = segment.file.size();
    // Named records were cut: what follows goes to a new segment (a plain one, like the segment a
    // recovery reopens: see rollToPreallocated). The progress this run reports counts the cut
    // records (see durableProgress), and the next recovery must find at least that.
    const last = this.segments[this.segments.length - 1]!;
    if (cutNamed && progressOf(last.seq, last.durableBytes) < this.found.segments) this.createSegment(Math.max(last.seq, Math.floor(this.found.segments / PROGRESS_SEQ_UNIT)) + 1, false);
    this.scrubSeq = 0;
    this.scrubAt = 0;
    this.scrubPassStartedMs = this.options.now();

    this.recoverStartMarkers(names);
    for (const log of this.logs.values()) {
      if (log.start.term === TERM_UNKNOWN) {
        // The record naming this start was lost (corruption): without its term the entries
        // cannot be matched by the leader, so the replica starts empty and catches up. The entries
        // it drops so may have been acknowledged (retention deletes only applied, committed
        // entries before them), so they become a faulty tail, durably, like entries lost to a bad
        // record: the replica then votes counting them and gets them back from a peer. Dropped
        // silently, they once let it elect a replica that lacked committed ones (2026-11-29: sim
        // seed 700 002, --retention-kib 48 --storage-faults; a cut of the durable tail took the
        // start record retention had just written).
        if (log.lastIndex() > log.start.index) {
          const first = log.start.index + 1;
          const last = log.lastIndex();
          const firstTerm = log.term(first);
          const lastTerm = log.term(last);
          invariant(firstTerm !== undefined && lastTerm !== undefined, () => `partition ${log.partition}: entries ${first}-${last} without terms`);
          this.markFaulty(new Map([[log.partition, { firstIndex: first, firstTerm, lastIndex: last, lastTerm }]]));
        }
        const { hard, faulty, faultyMarkers } = log;
        log.reset();
        log.hard = hard;
        log.faulty = faulty;
        log.faultyMarkers = faultyMarkers;
      }
    }
    this.takeUpSetAside();
    const faulty: { partition: number; tail: FaultyTail }[] = [];
    for (const log of this.logs.values()) if (log.faulty !== null) faulty.push({ partition: log.partition, tail: log.faulty });
    return { segmentsScanned, recordsRecovered, truncatedBytes, corruption, faulty, uncertain, stateLost: segmentsScanned > 0 && !stateFound };
  }

  /**
   * Keeps the records after a bad named one (`bad`, at its position in `file`) and in the later
   * segments that recovery can: every valid record of another partition, in order, up to a second
   * bad named record. Before, recovery cut the log at the bad record, and every partition lost what
   * followed it on this replica: one flipped byte made a faulty tail of every partition the node
   * held, and two such nodes could between them lose a partition's committed entries whose own
   * records were intact (a fault soak did: two rots, each in another partition's record).
   *
   * The kept records go to `seg-<seq>` (after every segment there is), written whole and durably
   * under a temporary name and renamed, identifiers first, before anything is cut. Returns what is
   * `lost` (the bad record's partition, and whatever follows a second fault: identifiers for
   * faultyTails) and the bytes kept; null when a kept record would be unnamed or the records to
   * copy exceed salvageBytesMax (recovery then cuts everything after the bad record).
   */
  private salvageAfter(file: DiskFile, size: number, ids: readonly RecordIdentifier[], bad: RecordIdentifier, later: readonly { name: string }[], seq: number): { lost: RecordIdentifier[]; bytes: number } | null {
    const sources = [
      { file, size, ids, from: bad.position + bad.length },
      ...later.map(({ name }) => {
        const laterFile = this.openFile(name);
        return { file: laterFile, size: laterFile.size(), ids: this.readIdentifiers(name), from: 0 };
      }),
    ];
    const tail = sources.reduce((sum, f) => sum + Math.max(0, f.size - f.from), 0);
    if (tail > (this.options.salvageBytesMax ?? SALVAGE_SEGMENTS_MAX * this.options.segmentBytes)) return null;
    const temporary = `${SALVAGE_PREFIX}${seq}.log`;
    const out = this.disk.open(temporary);
    out.truncate(0);
    const abandon = (): null => {
      out.close();
      this.disk.remove(temporary);
      return null;
    };
    const lost: RecordIdentifier[] = [bad];
    const named: RecordIdentifier[] = [];
    // The bad record's partition loses its log from that record on, but its later records are
    // intact: kept aside (not in the log, which cannot have a hole), for when a peer sends the
    // lost one. Not when one of them is unnamed or a log start: what follows would be unclear.
    const aside: Uint8Array[] = [];
    let asideBytes = 0;
    let asideUsable = true;
    let written = 0;
    let stopped = false;
    for (const f of sources) {
      const after = f === sources[0] ? f.ids.filter((id) => id.position >= f.from) : f.ids;
      if (stopped) {
        lost.push(...after);
        // Past a second fault, the partition's records are lost too: what was kept aside would end short.
        if (after.some((id) => id.partition === bad.partition)) asideUsable = false;
        continue;
      }
      const byPosition = new Map(after.map((id) => [id.position, id]));
      // One source segment at a time in memory (at most a segment, and its kept records once more).
      const bytes = f.size > f.from ? f.file.read(f.from, f.size - f.from) : new Uint8Array(0);
      const kept: Uint8Array[] = [];
      let keptBytes = 0;
      let at = 0;
      for (let record = segmentRecordAt(bytes, at); record !== null; record = segmentRecordAt(bytes, at)) {
        const id = byPosition.get(f.from + at) ?? null;
        if (record.partition === bad.partition) {
          if (id !== null) lost.push(id);
          if (id === null || !record.entries) asideUsable = false;
          if (asideUsable) {
            // A copy: a view would keep each source segment's whole buffer in memory until the end.
            aside.push(bytes.slice(at, at + record.length));
            asideBytes += record.length;
          }
        } else {
          if (record.entries && id === null) return abandon();
          if (id !== null) named.push({ ...id, position: written + keptBytes });
          kept.push(bytes.subarray(at, at + record.length));
          keptBytes += record.length;
        }
        at += record.length;
      }
      if (keptBytes > 0) {
        out.appendDurably(concat(kept, keptBytes));
        written += keptBytes;
      }
      // Named records from where the parse stopped on: a second fault. It and all after it are lost
      // (what recovery always took them for); a stop with none named is the end of the data.
      const unread = after.filter((id) => id.position >= f.from + at);
      if (unread.length > 0) {
        lost.push(...unread);
        stopped = true;
        if (unread.some((id) => id.partition === bad.partition)) asideUsable = false;
      }
    }
    out.close();
    if (asideUsable) this.writeSetAside(bad, aside, asideBytes);
    if (written === 0) {
      this.disk.remove(temporary);
      return { lost, bytes: 0 };
    }
    const temporaryIds = `${SALVAGE_PREFIX}${seq}.ids`;
    const idsOut = this.disk.open(temporaryIds);
    idsOut.truncate(0);
    idsOut.appendDurably(encodeIdentifiers(named, 0));
    idsOut.close();
    // Identifiers first: a crash between the renames leaves them without their segment, removed by
    // the next recovery (with the temporary segment) before anything reads them.
    const name = segmentName(seq);
    this.disk.rename(temporaryIds, identifiersFileName(name));
    this.disk.rename(temporary, name);
    return { lost, bytes: written };
  }

  /**
   * Writes the records kept aside after the lost record `bad` (see salvageAfter) whole and durably
   * under a temporary name, then renames it: before recovery cuts anything, so a crash after the
   * cut finds it, and one before makes the next recovery salvage (and write it) again.
   */
  private writeSetAside(bad: RecordIdentifier, records: readonly Uint8Array[], bytes: number): void {
    const name = setAsideName(bad);
    const temporary = `${SALVAGE_PREFIX}${name}`;
    const out = this.disk.open(temporary);
    out.truncate(0);
    if (bytes > 0) out.appendDurably(concat(records, bytes));
    out.close();
    // A salvage again after a crash before its cut kept the same records: the earlier file goes, if
    // there is one (until the rename, the records are still in the log's segments, and the next
    // recovery keeps them again).
    this.disk.remove(name);
    this.disk.rename(temporary, name);
  }

  /**
   * Takes up the records kept aside after a lost one (see salvageAfter) for the partitions whose log
   * still ends right before it, with the same faulty tail: their entries, checked as recovery checks
   * records, must run on from the lost record to the tail's end. Any other is removed: the partition
   * was repaired otherwise, or what was kept would not fill the tail.
   */
  private takeUpSetAside(): void {
    for (const name of this.disk.list()) {
      const parsed = parseSetAsideName(name);
      if (parsed === null) continue;
      const log = this.logs.get(parsed.partition);
      const entries = log === undefined ? null : this.setAsideEntries(name, log, parsed.hole);
      if (log === undefined || entries === null) {
        this.disk.remove(name);
        continue;
      }
      const { partition, hole, recordCrc } = parsed;
      log.setAside = { hole, entries, matchesHole: (lost) => encodeEntries(partition, lost).crc === recordCrc };
      log.setAsideFiles.push(name);
    }
  }

  /** The entries of a set-aside file, when they complete `log`'s faulty tail after `hole` (else null). */
  private setAsideEntries(name: string, log: PartitionLog, hole: FaultyTail): Entry[] | null {
    const f = log.faulty;
    if (f === null || log.setAside !== null || f.firstIndex !== hole.firstIndex || f.firstTerm !== hole.firstTerm || log.lastIndex() !== hole.firstIndex - 1) return null;
    const file = this.disk.open(name);
    const size = file.size();
    const bytes = size > 0 ? file.read(0, size) : new Uint8Array(0);
    file.close();
    let entries: Entry[] = [];
    let at = 0;
    while (at < bytes.length) {
      const body = recordBody(bytes, at);
      if (body === null) return null;
      const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
      if (view.getUint8(0) !== RECORD_TYPE_ENTRIES || view.getUint32(1, true) !== log.partition) return null;
      const record = decodeEntriesBody(body);
      if (record === null) return null;
      // A later record replaces the log from its first index (a new leader's rewrite).
      const first = record[0]!;
      const from = entries.findIndex((e) => e.index >= first.index);
      if (from >= 0) entries = entries.slice(0, from);
      entries.push(...record);
      at += RECORD_PREFIX_BYTES + body.length;
    }
    // Dense from the hole on, to the tail's last entry.
    let index = hole.lastIndex + 1;
    let term = hole.lastTerm;
    for (const e of entries) {
      if (e.index !== index || e.term < term) return null;
      index++;
      term = e.term;
    }
    return index - 1 === f.lastIndex && term === f.lastTerm ? entries : null;
  }

  /** The valid identifiers of a segment (none when they are off); a torn tail of the file itself is cut. */
  private readIdentifiers(segmentName: string): RecordIdentifier[] {
    return allSteps(this.readIdentifiersSteps(segmentName));
  }

  /** readIdentifiers, yielding every RECOVERY_STEP_IDENTIFIERS identifiers (see recoverySteps). */
  private *readIdentifiersSteps(segmentName: string): Generator<void, RecordIdentifier[], void> {
    if (!this.identifiersOn) return [];
    const name = identifiersFileName(segmentName);
    if (!this.disk.list().includes(name)) return [];
    const file = this.openFile(name);
    const size = file.size();
    const bytes = size > 0 ? file.read(0, size) : new Uint8Array(0);
    const ids: RecordIdentifier[] = [];
    let decoded = { at: 0, done: false };
    while (!(decoded = decodeIdentifiersFrom(bytes, decoded.at, RECOVERY_STEP_IDENTIFIERS, ids)).done) yield;
    if (decoded.at < size) file.truncate(decoded.at);
    return ids;
  }

  /**
   * Records the faulty tails durably (a marker each, before anything is cut) and drops the entries
   * from the first faulty one on: what the log held there before may have been replaced since.
   */
  private markFaulty(tails: ReadonlyMap<number, FaultyTail>): void {
    for (const [partition, tail] of tails) {
      const log = this.log(partition);
      const merged = log.faulty === null ? tail : mergeFaultyTails(log.faulty, tail);
      const name = faultyMarkerName(partition, merged);
      if (!log.faultyMarkers.includes(name)) writeMarker(this.disk, name);
      for (const old of log.faultyMarkers) if (old !== name) this.disk.remove(old);
      log.faulty = merged;
      log.faultyMarkers = [name];
      const keep = Math.max(log.start.index, tail.firstIndex - 1);
      if (keep < log.lastIndex()) log.truncateAfter(keep);
    }
  }

  /**
   * Keeps `start` of a log retention emptied in a marker file, durably, before the segments that
   * held its entries go (they go after the flush that makes the start record durable), and then
   * removes the marker it replaces. Synchronous, like the removals retention makes; it runs only
   * when a partition's whole log goes.
   */
  private markStart(log: PartitionLog, start: SnapshotMeta): void {
    const name = startMarkerName(log.partition, start.index, start.term);
    if (log.startMarker === name) return;
    writeMarker(this.disk, name);
    if (log.startMarker !== null) this.disk.remove(log.startMarker);
    log.startMarker = name;
  }

  /**
   * A log that ends before the start a marker kept (see startMarkerName) lost that start record to
   * a storage fault, and with it the only trace of its entries up to there: that last entry becomes
   * a faulty tail, so the replica votes counting it and gets it back from a peer or a leader
   * (2026-11-29: sim seed 800 568 with --retention-kib 16 --storage-faults, where the replica
   * started empty, voted for one missing committed entries, and they were lost).
   */
  private recoverStartMarkers(names: readonly string[]): void {
    const newest = new Map<number, { index: number; term: number; name: string }>();
    for (const name of names) {
      const marker = parseStartMarker(name);
      if (marker === null) continue;
      const kept = newest.get(marker.partition);
      if (kept !== undefined && kept.index >= marker.index) {
        this.disk.remove(name); // a crash between a marker and the removal of the one it replaced
        continue;
      }
      if (kept !== undefined) this.disk.remove(kept.name);
      newest.set(marker.partition, { ...marker, name });
    }
    for (const [partition, marker] of newest) {
      const log = this.log(partition);
      log.startMarker = marker.name;
      if (log.lastIndex() < marker.index) this.markFaulty(new Map([[partition, { firstIndex: marker.index, firstTerm: marker.term, lastIndex: marker.index, lastTerm: marker.term }]]));
    }
  }

  /**
   * Replays the record at `recordAt` of `bytes`, which begin at segment position `base`; returns
   * its end in the segment, or null when it is bad. An ENTRIES record's identifier goes to
   * `unnamed` when given (recovery names it again).
   */
  private replayRecord(bytes: Uint8Array, recordAt: number, base: number, seq: number, unnamed: RecordIdentifier[] | null): number | null {
    const body = recordBody(bytes, recordAt);
    const position = base + recordAt;
    if (body === null) return null;
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const type = view.getUint8(0);
    const partition = view.getUint32(1, true);
    const payloadAt = RECORD_BODY_HEADER_BYTES;
    const bodyPosition = position + RECORD_PREFIX_BYTES;
    if (type === RECORD_TYPE_ENTRIES) {
      if (body.length < payloadAt + ENTRIES_COUNT_BYTES) return null;
      const n = view.getUint32(payloadAt, true);
      let at = payloadAt + ENTRIES_COUNT_BYTES;
      const metas: EntryMeta[] = [];
      for (let k = 0; k < n; k++) {
        if (at + ENTRY_HEADER_BYTES > body.length) return null;
        const dataBytes = view.getUint32(at + 28, true);
        const meta: EntryMeta = {
          index: getU64(view, at),
          term: getU64(view, at + 8),
          offset: getU64(view, at + 16),
          count: view.getUint32(at + 24, true),
          segment: seq,
          position: bodyPosition + at + ENTRY_HEADER_BYTES,
          dataBytes,
        };
        at += ENTRY_HEADER_BYTES + dataBytes;
        if (at > body.length) return null;
        metas.push(meta);
      }
      if (n === 0 || at !== body.length || !metasWellFormed(metas)) return null;
      applyEntries(this.log(partition), metas, true);
      const replayed = this.replayed;
      if (replayed !== null) {
        for (const meta of metas) replayed(partition, meta.index, meta.offset, meta.count, view, meta.position - bodyPosition, meta.dataBytes);
      }
      if (unnamed !== null) {
        const recordCrc = new DataView(bytes.buffer, bytes.byteOffset + recordAt + 4, 4).getUint32(0, true);
        unnamed.push(recordIdentifier(partition, position, RECORD_PREFIX_BYTES + body.length, recordCrc, metas[0]!, metas[metas.length - 1]!));
      }
    } else if (type === RECORD_TYPE_SNAPSHOT) {
      if (body.length < payloadAt + SNAPSHOT_PAYLOAD_BYTES) return null;
      const stateAt = payloadAt + SNAPSHOT_PAYLOAD_BYTES;
      const start: SnapshotMeta = {
        index: getU64(view, payloadAt),
        term: getU64(view, payloadAt + 8),
        nextOffset: getU64(view, payloadAt + 16),
        // A copy: the scan's buffer is reused, and the log keeps its start.
        ...(body.length > stateAt ? { state: body.slice(stateAt) } : {}),
      };
      applyStart(this.log(partition), start, view.getUint8(payloadAt + 24) === 1, seq, true);
    } else {
      return null;
    }
    return position + RECORD_PREFIX_BYTES + body.length;
  }
}

/** Bytes a recovery scan reads at a time (more when one record is larger). */
const SCAN_CHUNK_BYTES = 4 << 20;

/**
 * Reads a segment front to back for recovery through one buffer reused for every segment, a
 * record at a time. Reading each segment whole into a new buffer cost a 64 MiB allocation per
 * segment whose pages the read then faulted in: ~84 % of a node's start was that read.
 */
class SegmentScan {
  /** Segment position of the buffer's first byte. */
  base = 0;
  private length = 0;
  /** The buffer's valid bytes, made once per fill (recovery asks for them once per record). */
  private valid: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly file: DiskFile,
    private readonly size: number,
    public buffer: Uint8Array,
    private readonly chunkBytes: number,
  ) {}

  /**
   * The buffer's valid bytes (from `base`), holding the record at `position` whole when the
   * segment does, else all the segment has from there: recordBody then finds it torn, as it would
   * in the whole segment.
   */
  recordAt(position: number): Uint8Array {
    if (!this.holds(position, RECORD_PREFIX_BYTES)) this.fill(position, RECORD_PREFIX_BYTES);
    // A whole prefix gives the record's length (a segment may end inside one: torn, see recordBody).
    if (position + RECORD_PREFIX_BYTES <= this.base + this.length) {
      const at = position - this.base;
      const length = new DataView(this.buffer.buffer, this.buffer.byteOffset + at, 4).getUint32(0, true);
      const need = RECORD_PREFIX_BYTES + Math.min(length, RECORD_BYTES_MAX);
      if (!this.holds(position, need)) this.fill(position, need);
    }
    return this.valid;
  }

  /** Whether [position, position + bytes) is in the buffer, or all the segment has of it. */
  private holds(position: number, bytes: number): boolean {
    const end = Math.min(position + bytes, this.size);
    return position >= this.base && end <= this.base + this.length;
  }

  private fill(position: number, need: number): void {
    const bytes = Math.min(this.size - position, Math.max(this.chunkBytes, need));
    if (this.buffer.length < bytes) this.buffer = new Uint8Array(Math.max(bytes, this.chunkBytes));
    this.file.readInto(position, this.buffer, bytes);
    this.base = position;
    this.length = bytes;
    this.valid = this.buffer.subarray(0, bytes);
  }
}

/**
 * One partition's log as the consensus core reads it. Metadata for every entry lives in a
 * columnar table; entry data comes from the journal's cache or is read back from its segment.
 */
export class PartitionLog implements RaftLogStorage {
  /** @internal */ start: SnapshotMeta = EMPTY_START;
  /** @internal */ hard: HardState = EMPTY_HARD_STATE;
  /** @internal */ readonly table = new EntryTable();
  /** @internal Pending entry data (staged or being flushed), by index: pinned until durable (see IndexRing for why not a Map). */ readonly data = new IndexRing<Uint8Array>();
  /** @internal Segment of the record that set the log start (0 none, negative pending batch). */ startSegment = 0;
  /** @internal Acknowledged entries recovery could not read back, until a leader repairs them. */ faulty: FaultyTail | null = null;
  /** @internal Marker files that keep `faulty` across crashes. */ faultyMarkers: string[] = [];
  /** @internal The marker keeping the start retention last moved this log to when it left no entry (see startMarkerName). */ startMarker: string | null = null;
  /** @internal The faulty tail's intact entries after its lost record (see Journal.salvageAfter), and their file. */ setAside: SetAsideTail | null = null;
  /** @internal */ setAsideFiles: string[] = [];
  /**
   * @internal Where the record holding the table's first entry starts, when a log start cut that
   * record (dropThrough): the index no longer has the entries before it to find it (recordStartOf).
   * Valid while headRecordSegment is that entry's segment; 0 otherwise.
   */
  headRecordSegment = 0;
  /** @internal See headRecordSegment. */ headRecordAt = 0;
  /** @internal Entries a background read brought into memory, until a log read takes them (Journal.fetchInBackground). */
  readonly fetched = new Map<number, FetchedEntry>();
  /** @internal That read: none, its reads in the thread pool, or waiting for the read budget; and what it asked for. */
  fetchState: 'idle' | 'reading' | 'waiting' = 'idle';
  /** @internal See fetchState. */ fetchFrom = 0;
  /** @internal See fetchState. */ fetchBytes = 0;
  /** @internal Told when that read ends. */ fetchWaiters: ((failure: Error | null) => void)[] = [];

  constructor(
    readonly partition: number,
    private readonly journal: Journal,
  ) {}

  initialState(): { hardState: HardState; snapshot: SnapshotMeta } {
    return { hardState: this.hard, snapshot: this.start };
  }

  firstIndex(): number {
    return this.start.index + 1;
  }

  lastIndex(): number {
    return this.start.index + this.table.length;
  }

  term(index: number): number | undefined {
    if (index === this.start.index) return this.start.term === TERM_UNKNOWN ? undefined : this.start.term;
    if (index < this.start.index || index > this.lastIndex()) return undefined;
    return this.table.term(index - this.start.index - 1);
  }

  entries(lo: number, hi: number, maxBytes: number, rationed = false): Entry[] {
    invariant(lo >= this.firstIndex() && hi <= this.lastIndex() + 1 && lo <= hi, () => `partition ${this.partition}: entries [${lo}, ${hi}) outside [${this.firstIndex()}, ${this.lastIndex() + 1})`);
    const base = this.start.index + 1;
    const data: Uint8Array[] = [];
    let bytes = 0;
    let index = lo;
    // Entries in memory cost nothing; those on disk are read a run at a time, within the read budget
    // when rationed (see RaftLogStorage.entries: a leader's apply is not, as its acknowledgements
    // wait for it). The first entry always comes, so every read makes progress.
    // Fetched when the first entry on disk needs it (most reads are all in memory).
    let budget: number | null = rationed ? null : Number.POSITIVE_INFINITY;
    while (index < hi) {
      const size = this.table.bytes(index - base);
      if (index > lo && bytes + size > maxBytes) break;
      const inMemory = this.journal.memoryData(this, index);
      if (inMemory !== null) {
        data.push(inMemory);
        bytes += size;
        index++;
        continue;
      }
      // Past the first entry, what is on disk comes from a background read (the caller is told when
      // it is in memory) rather than from a read that blocks the event loop.
      if (rationed && index > lo && this.journal.fetchInBackground(this, index, FETCH_BYTES_MAX, null)) break;
      budget ??= this.journal.segmentReadBudget();
      let runEnd = index;
      let runBytes = 0;
      let cut = false;
      for (; runEnd < hi && (runEnd === index || !this.journal.inMemory(this, runEnd)); runEnd++) {
        const entryBytes = this.table.bytes(runEnd - base);
        if (runEnd > lo && bytes + runBytes + entryBytes > maxBytes) break;
        if (runEnd > lo && runBytes + entryBytes > budget) {
          cut = true;
          break;
        }
        runBytes += entryBytes;
      }
      const progressed = runEnd > index;
      if (progressed) {
        const reached = this.journal.segmentData(this, index, runEnd, data, rationed);
        for (; index < reached; index++) {
          budget -= this.table.bytes(index - base);
          bytes += this.table.bytes(index - base);
        }
        if (reached < runEnd) break;
      }
      if (cut) this.journal.noteReadThrottled();
      if (cut || !progressed) break;
    }
    const end = index;
    const result: Entry[] = [];
    for (let index = lo; index < end; index++) {
      const i = index - base;
      result.push({ index, term: this.table.term(i), offset: this.table.offset(i), count: this.table.count(i), data: data[index - lo]! });
    }
    return result;
  }

  /**
   * Whether entry `index` is on its way into memory by a background read, which this call starts
   * when none is under way (see Journal.fetchInBackground); the journal's onFetched says when it
   * arrived. False: it is in memory, or reads here block (then see readDeferred).
   */
  fetching(index: number): boolean {
    return this.journal.fetchInBackground(this, index, FETCH_BYTES_MAX, null);
  }

  /**
   * For a client's read from `index`: false when its entries can be read now (in memory, or reads
   * here block); true when a background read brings them first (within the read budget, at least
   * the first entry at once, as a blocking read takes it), and `done` is called once it ended.
   */
  prefetch(index: number, maxBytes: number, done: (failure: Error | null) => void): boolean {
    return this.journal.fetchInBackground(this, index, maxBytes, done, false);
  }

  readDeferred(index: number): boolean {
    if (index <= this.start.index || index > this.lastIndex() || this.journal.inMemory(this, index)) return false;
    if (this.journal.segmentReadBudget() > 0) return false;
    this.journal.noteReadThrottled();
    return true;
  }

  snapshot(): SnapshotMeta {
    return this.start;
  }

  hardState(): HardState {
    return this.hard;
  }

  /** Entries this replica acknowledged before a storage fault and has not had repaired yet. */
  faultyTail(): FaultyTail | null {
    return this.faulty;
  }

  /** The faulty tail's intact entries after its one lost record, when recovery kept them. */
  setAsideTail(): SetAsideTail | null {
    return this.setAside;
  }

  lastOffsetEnd(): number {
    return this.offsetEnd(this.lastIndex());
  }

  /** Record offset after entry `index` (the log start's for indexes at or below it), from metadata alone. */
  offsetEnd(index: number): number {
    invariant(index <= this.lastIndex(), () => `partition ${this.partition}: offsetEnd(${index}) past the last index ${this.lastIndex()}`);
    if (index <= this.start.index) return this.start.nextOffset;
    const i = index - this.start.index - 1;
    return this.table.offset(i) + this.table.count(i);
  }

  indexForOffset(offset: number): number | undefined {
    const i = this.table.lastAtOrBelowOffset(offset);
    if (i < 0 || offset >= this.table.offset(i) + this.table.count(i)) return undefined;
    return this.start.index + 1 + i;
  }

  /** @internal Empty, as before any record. */
  reset(): void {
    this.start = EMPTY_START;
    this.hard = EMPTY_HARD_STATE;
    this.table.truncate(0);
    this.data.clear();
    this.startSegment = 0;
    this.headRecordSegment = 0;
    this.faulty = null;
    this.faultyMarkers = [];
    this.setAside = null;
    this.setAsideFiles = [];
  }

  /** @internal Keeps entries up to `index`, dropping their successors' data. */
  truncateAfter(index: number): void {
    const keep = index - this.start.index;
    for (let i = keep; i < this.table.length; i++) this.data.delete(this.start.index + 1 + i);
    this.table.truncate(keep);
    if (keep === 0) this.headRecordSegment = 0;
  }

  /** @internal Drops entries up to `index`; the log then starts at `start`. */
  dropThrough(start: SnapshotMeta): void {
    const n = Math.min(start.index - this.start.index, this.table.length);
    this.data.deleteThrough(start.index);
    if (n >= this.table.length) {
      this.table.truncate(0);
      this.headRecordSegment = 0;
    } else if (n > 0) {
      // Found while the entries before it are still in the index.
      this.headRecordAt = recordStartOf(this, n);
      this.headRecordSegment = this.table.segment(n);
      this.table.dropFront(n);
    }
    this.start = start;
  }
}

const EMPTY_START: SnapshotMeta = { index: 0, term: 0, nextOffset: 0 };
const EMPTY_HARD_STATE: HardState = { term: 0, vote: 0, commit: 0 };

/** Bytes from a record's start to the data of its first entry. */
const FIRST_ENTRY_DATA_AT = RECORD_PREFIX_BYTES + RECORD_BODY_HEADER_BYTES + ENTRIES_COUNT_BYTES + ENTRY_HEADER_BYTES;

/**
 * Where the record holding entry i (a table index) starts, in its segment (or its pending batch).
 * A record's entries lie back to back, each data one entry header after the previous one's, and
 * two records of a partition lie at least a record header further apart: so the index alone says
 * where a record begins, except where a log start cut it (headRecordAt).
 */
/**
 * The last entry of the record holding the table's entry `i`, as far as the table knows (a record's
 * entries follow one another, each after its header; a cut log may have lost the record's last ones).
 */
function recordLastEntry(log: PartitionLog, i: number): number {
  const table = log.table;
  const segment = table.segment(i);
  let k = i;
  while (k + 1 < table.length && table.segment(k + 1) === segment && table.position(k + 1) === table.position(k) + table.bytes(k) + ENTRY_HEADER_BYTES) k++;
  return k;
}

function recordStartOf(log: PartitionLog, i: number): number {
  const table = log.table;
  const segment = table.segment(i);
  let k = i;
  let position = table.position(i);
  while (k > 0) {
    const before = table.position(k - 1) + table.bytes(k - 1) + ENTRY_HEADER_BYTES;
    if (table.segment(k - 1) !== segment || before !== position) break;
    k--;
    position = table.position(k);
  }
  // (No entry's segment is 0, the value that means none is kept.)
  if (k === 0 && log.headRecordSegment === segment) return log.headRecordAt;
  return position - FIRST_ENTRY_DATA_AT;
}

// ---- applying records (the same code stages live and replays at recovery) ----------------------

function metasWellFormed(metas: readonly EntryMeta[]): boolean {
  for (let k = 0; k < metas.length; k++) {
    const meta = metas[k]!;
    if (!Number.isSafeInteger(meta.index) || meta.index < 1 || !Number.isSafeInteger(meta.term) || !Number.isSafeInteger(meta.offset)) return false;
    const previous = metas[k - 1];
    if (previous !== undefined && (meta.index !== previous.index + 1 || meta.term < previous.term || meta.offset !== previous.offset + previous.count)) return false;
  }
  return true;
}

/**
 * Appends entries, replacing the suffix from the first one (conflict truncation). At replay, a
 * partition whose entries retention deleted shows a gap: its start is then provisional (term
 * unknown) until the SNAPSHOT record retention wrote before deleting them.
 */
function applyEntries(log: PartitionLog, metas: readonly EntryMeta[], replay: boolean): void {
  const first = metas[0];
  invariant(first !== undefined, 'no entries');
  invariant(metasWellFormed(metas), () => `partition ${log.partition}: entries not contiguous, terms decreasing or offsets not dense from ${first.index}`);
  const provisional = log.start.term === TERM_UNKNOWN;
  // A gap (or, while provisional, a rewrite below the start) means retention deleted the entries
  // before: they are dropped, and the start record that retention wrote later settles the start.
  if (replay && (first.index > log.lastIndex() + 1 || (provisional && first.index <= log.start.index))) {
    log.truncateAfter(log.start.index);
    log.start = { index: first.index - 1, term: TERM_UNKNOWN, nextOffset: first.offset };
  }
  invariant(first.index > log.start.index, () => `partition ${log.partition}: entry ${first.index} at or below the log start ${log.start.index}`);
  invariant(first.index <= log.lastIndex() + 1, () => `partition ${log.partition}: entry ${first.index} leaves a gap after ${log.lastIndex()}`);
  log.truncateAfter(first.index - 1);
  const previousTerm = log.term(first.index - 1);
  invariant(previousTerm === undefined || first.term >= previousTerm, () => `partition ${log.partition}: term ${first.term} of entry ${first.index} below ${previousTerm}`);
  invariant(first.offset === log.lastOffsetEnd(), () => `partition ${log.partition}: entry ${first.index} offset ${first.offset}, expected ${log.lastOffsetEnd()}`);
  for (const meta of metas) log.table.push(meta.term, meta.offset, meta.count, meta.segment, meta.position, meta.dataBytes);
  const last = metas[metas.length - 1]!;
  invariant(log.lastIndex() === last.index && log.lastOffsetEnd() === last.offset + last.count, 'applyEntries postcondition');
}

/** Moves the log start to `start`, keeping the entries after it when `kept`. */
function applyStart(log: PartitionLog, start: SnapshotMeta, kept: boolean, segment: number, replay: boolean): void {
  const provisional = log.start.term === TERM_UNKNOWN;
  if (provisional && kept && start.index < log.start.index) return; // A later start record settles it.
  if (!provisional && start.index === log.start.index && start.term === log.start.term && kept) {
    // Retention re-recording a start whose record sits in a segment about to be deleted.
    log.startSegment = segment;
    return;
  }
  if (!provisional && start.index <= log.start.index) {
    invariant(replay, () => `partition ${log.partition}: stale log start ${start.index} <= ${log.start.index}`);
    return;
  }
  if (kept && start.index <= log.lastIndex()) {
    const heldTerm = start.index === log.start.index ? start.term : log.term(start.index);
    invariant(heldTerm === start.term, () => `partition ${log.partition}: log start ${start.index} term ${start.term}, log holds ${heldTerm}`);
    const nextOffset = start.index === log.lastIndex() ? log.lastOffsetEnd() : log.table.offset(start.index - log.start.index);
    invariant(nextOffset === start.nextOffset, () => `partition ${log.partition}: log start ${start.index} nextOffset ${start.nextOffset}, log has ${nextOffset}`);
    log.dropThrough(start);
  } else {
    invariant(!kept || replay, () => `partition ${log.partition}: kept start ${start.index} beyond last ${log.lastIndex()}`);
    log.truncateAfter(log.start.index);
    log.start = start;
  }
  log.startSegment = segment;
}

// ---- encoding ----------------------------------------------------------------------------------

function finishRecord(record: Uint8Array, type: number, partition: number): Uint8Array {
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const length = record.length - RECORD_PREFIX_BYTES;
  invariant(length <= RECORD_BYTES_MAX, `record of ${length} bytes over ${RECORD_BYTES_MAX}`);
  view.setUint32(0, length, true);
  view.setUint8(8, type);
  view.setUint32(9, partition, true);
  view.setUint32(4, crc32c(record.subarray(RECORD_PREFIX_BYTES)), true);
  return record;
}

/**
 * An ENTRIES record as pieces for one writev: a single buffer holds the record header and every
 * entry header, and each entry's data is referenced, not copied (entries are immutable once
 * proposed). The CRC32C runs over the pieces in order, as if they were one buffer.
 */
function encodeEntries(partition: number, entries: readonly Entry[]): { parts: Uint8Array[]; bytes: number; crc: number } {
  const headerBytes = RECORD_PREFIX_BYTES + RECORD_BODY_HEADER_BYTES + ENTRIES_COUNT_BYTES;
  const headers = allocBytes(headerBytes + entries.length * ENTRY_HEADER_BYTES);
  const view = new DataView(headers.buffer, headers.byteOffset, headers.byteLength);
  view.setUint32(RECORD_PREFIX_BYTES + RECORD_BODY_HEADER_BYTES, entries.length, true);
  const parts: Uint8Array[] = [headers.subarray(0, headerBytes)];
  let bytes = headerBytes;
  let at = headerBytes;
  for (const entry of entries) {
    invariant(Number.isInteger(entry.count) && entry.count >= 0 && entry.count < UINT32, `entry ${entry.index} count ${entry.count}`);
    putU64(view, at, entry.index);
    putU64(view, at + 8, entry.term);
    putU64(view, at + 16, entry.offset);
    view.setUint32(at + 24, entry.count, true);
    view.setUint32(at + 28, entry.data.length, true);
    parts.push(headers.subarray(at, at + ENTRY_HEADER_BYTES));
    if (entry.data.length > 0) parts.push(entry.data);
    at += ENTRY_HEADER_BYTES;
    bytes += ENTRY_HEADER_BYTES + entry.data.length;
  }
  const length = bytes - RECORD_PREFIX_BYTES;
  invariant(length <= RECORD_BYTES_MAX, `record of ${length} bytes over ${RECORD_BYTES_MAX}`);
  view.setUint32(0, length, true);
  view.setUint8(8, RECORD_TYPE_ENTRIES);
  view.setUint32(9, partition, true);
  let crc = crc32c(headers.subarray(RECORD_PREFIX_BYTES, headerBytes));
  for (let i = 1; i < parts.length; i++) crc = crc32c(parts[i]!, crc);
  view.setUint32(4, crc, true);
  return { parts, bytes, crc };
}

/** A start record: index, term, next offset, kept, then the start's state (see SnapshotMeta.state), if any, to the record's end. */
function encodeSnapshot(partition: number, start: SnapshotMeta, kept: boolean): Uint8Array {
  const stateBytes = start.state?.byteLength ?? 0;
  const record = new Uint8Array(RECORD_PREFIX_BYTES + RECORD_BODY_HEADER_BYTES + SNAPSHOT_PAYLOAD_BYTES + stateBytes);
  const view = new DataView(record.buffer);
  const at = RECORD_PREFIX_BYTES + RECORD_BODY_HEADER_BYTES;
  putU64(view, at, start.index);
  putU64(view, at + 8, start.term);
  putU64(view, at + 16, start.nextOffset);
  view.setUint8(at + 24, kept ? 1 : 0);
  if (start.state !== undefined) record.set(start.state, at + SNAPSHOT_PAYLOAD_BYTES);
  return finishRecord(record, RECORD_TYPE_SNAPSHOT, partition);
}

/** The entries of an ENTRIES record's body (type onwards), their data viewed in place; null when malformed. */
function decodeEntriesBody(body: Uint8Array): Entry[] | null {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (body.length < RECORD_BODY_HEADER_BYTES + ENTRIES_COUNT_BYTES) return null;
  const n = view.getUint32(RECORD_BODY_HEADER_BYTES, true);
  let at = RECORD_BODY_HEADER_BYTES + ENTRIES_COUNT_BYTES;
  const entries: Entry[] = [];
  for (let k = 0; k < n; k++) {
    if (at + ENTRY_HEADER_BYTES > body.length) return null;
    const dataBytes = view.getUint32(at + 28, true);
    const dataAt = at + ENTRY_HEADER_BYTES;
    if (dataAt + dataBytes > body.length) return null;
    entries.push({ index: getU64(view, at), term: getU64(view, at + 8), offset: getU64(view, at + 16), count: view.getUint32(at + 24, true), data: body.subarray(dataAt, dataAt + dataBytes) });
    at = dataAt + dataBytes;
  }
  return n === 0 || at !== body.length ? null : entries;
}

/** Whether a record's length field could be a record's (recovery and log reads both ask). */
function saneRecordLength(length: number): boolean {
  return length >= RECORD_BODY_HEADER_BYTES && length <= RECORD_BYTES_MAX;
}

/** The body (type onwards) of a well-formed record at `position`, or null. */
function recordBody(bytes: Uint8Array, position: number): Uint8Array | null {
  if (position + RECORD_PREFIX_BYTES > bytes.length) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset + position, RECORD_PREFIX_BYTES);
  const length = view.getUint32(0, true);
  if (!saneRecordLength(length)) return null;
  const end = position + RECORD_PREFIX_BYTES + length;
  if (end > bytes.length) return null;
  const body = bytes.subarray(position + RECORD_PREFIX_BYTES, end);
  return crc32c(body) === view.getUint32(4, true) ? body : null;
}

/**
 * The valid record at `position` of a segment's `bytes`: whether it holds entries (else a log
 * start), its partition and its whole length; null when it is bad, torn or of no known type.
 */
export function segmentRecordAt(bytes: Uint8Array, position: number): { entries: boolean; partition: number; length: number } | null {
  const body = recordBody(bytes, position);
  if (body === null) return null;
  const type = body[0];
  if (type !== RECORD_TYPE_ENTRIES && type !== RECORD_TYPE_SNAPSHOT) return null;
  return { entries: type === RECORD_TYPE_ENTRIES, partition: new DataView(body.buffer, body.byteOffset + 1, 4).getUint32(0, true), length: RECORD_PREFIX_BYTES + body.length };
}

/**
 * The first and last entry index of the ENTRIES record at `position` of a segment's bytes, or null
 * for any other record or a bad one (the simulator picks records to rot by the entries they hold).
 */
export function entriesRecordRange(bytes: Uint8Array, position: number): { firstIndex: number; lastIndex: number } | null {
  const body = recordBody(bytes, position);
  if (body === null || body[0] !== RECORD_TYPE_ENTRIES) return null;
  const entries = decodeEntriesBody(body);
  const first = entries?.[0];
  const last = entries?.[entries.length - 1];
  return first === undefined || last === undefined ? null : { firstIndex: first.index, lastIndex: last.index };
}

/** Whether the bad record at `position` has a sane length and all its bytes: a CRC mismatch, not a torn tail. */
function isFullRecord(bytes: Uint8Array, position: number): boolean {
  if (position + RECORD_PREFIX_BYTES > bytes.length) return false;
  const length = new DataView(bytes.buffer, bytes.byteOffset + position, 4).getUint32(0, true);
  return saneRecordLength(length) && position + RECORD_PREFIX_BYTES + length <= bytes.length;
}

/** Where the last record the identifiers name ends (0 when they name none). */
function namedEnd(ids: readonly RecordIdentifier[]): number {
  let end = 0;
  for (const id of ids) end = Math.max(end, id.position + id.length);
  return end;
}

function segmentName(seq: number): string {
  return `seg-${String(seq).padStart(SEQUENCE_DIGITS, '0')}.log`;
}

/** Whether every byte from `from` on is zero (a preallocated segment's unused tail). */
function zeroFrom(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Whether a valid record starts anywhere after a bad one (then the bad one was not the tail). */
function validRecordFollows(bytes: Uint8Array, from: number): boolean {
  const until = Math.min(bytes.length, from + VALID_RECORD_SEARCH_POSITIONS_MAX);
  for (let position = from; position < until; position++) {
    if (recordBody(bytes, position) !== null) return true;
  }
  return false;
}

function encodeHardState(partition: number, hs: HardState): Uint8Array {
  const record = new Uint8Array(STATE_RECORD_BYTES);
  const view = new DataView(record.buffer);
  view.setUint32(0, STATE_RECORD_LENGTH, true);
  view.setUint32(8, partition, true);
  putU64(view, 12, hs.term);
  view.setUint32(20, hs.vote, true);
  putU64(view, 24, hs.commit);
  view.setUint32(4, crc32c(record.subarray(8)), true);
  return record;
}

function decodeHardState(bytes: Uint8Array, position: number): { partition: number; hardState: HardState } | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset + position, STATE_RECORD_BYTES);
  if (view.getUint32(0, true) !== STATE_RECORD_LENGTH) return null;
  if (crc32c(bytes.subarray(position + 8, position + STATE_RECORD_BYTES)) !== view.getUint32(4, true)) return null;
  return { partition: view.getUint32(8, true), hardState: { term: getU64(view, 12), vote: view.getUint32(20, true), commit: getU64(view, 24) } };
}

function stateCopyName(name: string): string {
  return `${name.slice(0, -'.log'.length)}.copy`;
}

/**
 * Of two hard states of one partition, the later one: terms never go back, and within a term the
 * vote is only ever set, never changed. (Commit is relearned from the leader anyway.)
 */
function newerHardState(a: HardState, b: HardState): HardState {
  if (b.term !== a.term) return b.term > a.term ? b : a;
  return b.vote !== 0 || a.vote === 0 ? b : a;
}

function concat(parts: readonly Uint8Array[], bytes: number): Uint8Array {
  if (parts.length === 1 && parts[0]!.length === bytes) return parts[0]!;
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  invariant(at === bytes, 'concat length');
  return out;
}
