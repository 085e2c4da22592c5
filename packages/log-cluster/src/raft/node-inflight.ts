import { invariant } from '../invariant.ts';
import type { NodeId } from './types.ts';

/**
 * Entry bytes in flight from one node's leaders to each follower node, over all their partitions.
 * A partition's own limit (RaftConfig.maxInflightBytes) does not bound what a node sends when a
 * follower that holds hundreds of partitions comes back: each of them fills its pipeline in the
 * same turn. Shared by the Raft instances of one node (RaftOptions.nodeInflight).
 */
export class NodeInflight {
  private readonly bytes = new Map<NodeId, number>();

  constructor(readonly maxBytes: number) {
    invariant(Number.isInteger(maxBytes) && maxBytes > 0, () => `node inflight limit must be a positive integer (got ${maxBytes})`);
  }

  /** Whether appends to `to` with entries already in flight should wait for answers. */
  full(to: NodeId): boolean {
    return (this.bytes.get(to) ?? 0) >= this.maxBytes;
  }

  add(to: NodeId, bytes: number): void {
    this.bytes.set(to, (this.bytes.get(to) ?? 0) + bytes);
  }

  remove(to: NodeId, bytes: number): void {
    const left = (this.bytes.get(to) ?? 0) - bytes;
    invariant(left >= 0, () => `node inflight to ${to} would go negative (${left})`);
    this.bytes.set(to, left);
  }

  /** Bytes in flight to every follower node together (a gauge). */
  total(): number {
    let sum = 0;
    for (const bytes of this.bytes.values()) sum += bytes;
    return sum;
  }

  /** Bytes in flight to `to` (for tests and gauges). */
  inFlight(to: NodeId): number {
    return this.bytes.get(to) ?? 0;
  }
}
