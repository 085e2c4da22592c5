import type { MemDisk } from '../storage/mem-disk.ts';
import type { NodeId } from '../raft/types.ts';
import type { FaultKind } from './simulator.ts';
import { Random } from './random.ts';

/**
 * Storage faults the recovery before record identifiers could not detect: each damages the tail of
 * a node's newest segment after a crash, where only durable (fdatasync'ed, possibly acknowledged)
 * bytes remain, so that a damaged tail looks exactly like a torn write.
 */
export type StorageFaultKind = 'cutSyncedTail' | 'flipLastRecord' | 'zeroBlock' | 'misdirectedWrite';
export const STORAGE_FAULT_KINDS: readonly StorageFaultKind[] = ['cutSyncedTail', 'flipLastRecord', 'zeroBlock', 'misdirectedWrite'];

/** A cut or misdirected write spans at most this much of the tail. */
const TAIL_BYTES_MAX = 2048;
/** A flipped byte lands this close to the end: inside the last record. */
const LAST_RECORD_BYTES = 48;
const BLOCK_BYTES = 4096;
/** Storage faults per seed, all on the one node chosen for them (one faulty replica at a time). */
export const STORAGE_FAULTS_PER_SEED_MAX = 3;

/** The newest non-empty segment of a disk, with its size. */
function newestSegment(disk: MemDisk): { name: string; size: number } | null {
  const segments = disk.list().filter((name) => name.startsWith('seg-') && name.endsWith('.log')).reverse();
  for (const name of segments) {
    const file = disk.open(name);
    const size = file.size();
    file.close();
    if (size > 0) return { name, size };
  }
  return null;
}

/**
 * Damages the durable tail of `disk`'s newest segment (call it on a crashed node's disk, before the
 * restart). Returns what it did, or null when there was nothing to damage.
 */
export function injectStorageFault(disk: MemDisk, kind: StorageFaultKind, random: Random): string | null {
  const segment = newestSegment(disk);
  if (segment === null) return null;
  const { name, size } = segment;
  switch (kind) {
    case 'cutSyncedTail': {
      const cutBytes = random.int(1, Math.min(size, TAIL_BYTES_MAX));
      const file = disk.open(name);
      file.truncate(size - cutBytes);
      file.close();
      return `${kind} ${name}: last ${cutBytes} of ${size} bytes`;
    }
    case 'flipLastRecord': {
      const position = random.int(Math.max(0, size - LAST_RECORD_BYTES), size - 1);
      disk.corruptByte(name, position);
      return `${kind} ${name}: byte ${position} of ${size}`;
    }
    case 'zeroBlock': {
      const block = Math.floor((size - 1) / BLOCK_BYTES) * BLOCK_BYTES;
      disk.overwrite(name, block, new Uint8Array(size - block));
      return `${kind} ${name}: [${block}, ${size})`;
    }
    case 'misdirectedWrite': {
      // The last write landed earlier in the file: its place holds zeros, and it overwrote older records.
      const tailBytes = random.int(1, Math.min(Math.floor(size / 2), TAIL_BYTES_MAX));
      if (tailBytes < 1 || size - 2 * tailBytes < 0) return null;
      const from = size - tailBytes;
      const file = disk.open(name);
      const tail = file.read(from, tailBytes);
      file.close();
      const to = random.int(0, from - tailBytes);
      disk.overwrite(name, to, tail);
      disk.overwrite(name, from, new Uint8Array(tailBytes));
      return `${kind} ${name}: [${from}, ${size}) written at ${to}`;
    }
  }
}

/** How often a storage fault is drawn against one ordinary fault kind. */
const STORAGE_FAULT_WEIGHT = 2;
/** Share of storage faults that come as the compound below rather than alone. */
const COMPOUND_PROBABILITY = 0.6;

/** What a storage fault may do to the simulated cluster. */
export interface StorageFaultContext {
  disk(node: NodeId): MemDisk;
  isUp(node: NodeId): boolean;
  crash(node: NodeId): void;
  start(node: NodeId): void;
  /** Cuts (or heals) every link of the node. */
  isolate(node: NodeId, cut: boolean): void;
  leaderOf(partition: number): NodeId | undefined;
  replicasOf(partition: number): readonly NodeId[];
  readonly partitionCount: number;
  after(delayMs: number, fn: () => void): void;
}

/**
 * The simulator's storage faults for one seed: one node (drawn from the seed) takes them all, so
 * at most one replica of each partition is faulty at a time, the model protocol-aware recovery
 * is built for. Its own random stream keeps every other draw of the seed unchanged.
 */
export class StorageFaults {
  readonly node: NodeId;
  private readonly random: Random;
  private injected = 0;

  constructor(seed: number, nodeIds: readonly NodeId[]) {
    this.random = new Random((seed ^ 0x5107_a6e5) >>> 0);
    this.node = this.random.pick(nodeIds);
  }

  /** The fault kinds to draw from: a segment corruption or rot would be a second faulty replica, so they go. */
  faultKinds(kinds: readonly FaultKind[]): FaultKind[] {
    return [...kinds.filter((kind) => kind !== 'corruptSegment' && kind !== 'rotSegment'), ...Array.from({ length: STORAGE_FAULT_WEIGHT }, (): FaultKind => 'storageFault')];
  }

  /**
   * Crashes the seed's faulty node, damages its disk and restarts it. Often as a compound that makes
   * the damage matter: the partition's third replica is isolated first, so the newest acknowledged
   * entries live only on the leader and the faulty node; then both crash, the third heals, and the
   * faulty node restarts well before the leader. Returns what it did, or null when nothing was done.
   */
  inject(ctx: StorageFaultContext): string | null {
    const x = this.node;
    if (this.injected >= STORAGE_FAULTS_PER_SEED_MAX || !ctx.isUp(x)) return null;
    this.injected++;
    const kind = this.random.pick(STORAGE_FAULT_KINDS);
    const partition = this.random.int(0, ctx.partitionCount - 1);
    const leader = ctx.leaderOf(partition);
    const third = ctx.replicasOf(partition).find((id) => id !== x && id !== leader);
    if (this.random.next() < COMPOUND_PROBABILITY && leader !== undefined && leader !== x && third !== undefined && ctx.replicasOf(partition).includes(x)) {
      ctx.isolate(third, true);
      ctx.after(this.random.int(100, 300), () => {
        ctx.crash(x);
        injectStorageFault(ctx.disk(x), kind, this.random);
        ctx.crash(leader);
        ctx.isolate(third, false);
        ctx.after(this.random.int(50, 200), () => ctx.start(x));
        ctx.after(this.random.int(400, 900), () => ctx.start(leader));
      });
      return `${kind} on node ${x} (partition ${partition}: node ${third} isolated, then leader ${leader} crashed with it)`;
    }
    ctx.crash(x);
    const what = injectStorageFault(ctx.disk(x), kind, this.random);
    ctx.after(this.random.int(50, 500), () => ctx.start(x));
    return `${what ?? kind} on node ${x}`;
  }
}
