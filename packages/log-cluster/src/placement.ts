import type { NodeId } from './raft/types.ts';
import { invariant } from './invariant.ts';

/** 32-bit FNV-1a then a murmur3 finalizer: cheap, stable across processes and machines. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Rendezvous (highest random weight) hashing: every node computes the same replica set for a
 * partition from the node ids alone, and adding a node moves only the partitions it wins.
 */
export function replicasFor(partition: number, nodeIds: readonly NodeId[], replicationFactor: number): NodeId[] {
  invariant(replicationFactor >= 1 && replicationFactor <= nodeIds.length, () => `replication factor ${replicationFactor} needs at least that many nodes (have ${nodeIds.length})`);
  return [...nodeIds]
    .map((node) => ({ node, weight: hash32(`${partition}/${node}`) }))
    .sort((a, b) => b.weight - a.weight || a.node - b.node)
    .slice(0, replicationFactor)
    .map((entry) => entry.node)
    .sort((a, b) => a - b);
}

export type PlacementMap = ReadonlyMap<number, readonly NodeId[]>;

export function placement(partitionCount: number, nodeIds: readonly NodeId[], replicationFactor: number): PlacementMap {
  const map = new Map<number, NodeId[]>();
  for (let partition = 0; partition < partitionCount; partition++) {
    map.set(partition, replicasFor(partition, nodeIds, replicationFactor));
  }
  return map;
}

/** Key → partition for `append(key, …)`: the same hash, so keys spread evenly. */
export function partitionForKey(key: string, partitionCount: number): number {
  return hash32(key) % partitionCount;
}
