import type { LogErrorCode } from './errors.ts';
import type { Message, NodeId } from './raft/types.ts';

/** Raft traffic between two nodes: every partition's messages of one round in one envelope (coalesced). */
export interface PartitionMessage {
  readonly partition: number;
  readonly message: Message;
}

export type ClientRequest =
  | {
      readonly kind: 'append';
      readonly partition: number;
      readonly producerId: number;
      readonly sequence: number;
      readonly records: readonly Uint8Array[];
    }
  | { readonly kind: 'read'; readonly partition: number; readonly offset: number; readonly maxRecords: number; readonly maxBytes: number }
  | { readonly kind: 'metadata' };

export interface ReadRecord {
  readonly offset: number;
  readonly value: Uint8Array;
}

export interface PartitionMetadata {
  readonly partition: number;
  readonly replicas: readonly NodeId[];
  /** The leader as this node knows it (0 when none). */
  readonly leader: NodeId;
  readonly term: number;
}

export type ClientResponse =
  | { readonly kind: 'append'; readonly baseOffset: number; readonly count: number }
  | { readonly kind: 'read'; readonly records: readonly ReadRecord[]; readonly highWatermark: number; readonly logStartOffset: number }
  | { readonly kind: 'metadata'; readonly nodeId: NodeId; readonly partitionCount: number; readonly partitions: readonly PartitionMetadata[] }
  | {
      readonly kind: 'error';
      readonly error: { readonly code: LogErrorCode; readonly message: string; readonly details?: { leaderHint?: NodeId; partition?: number; earliestOffset?: number } };
    };

/** Node-to-node raft traffic; the in-process and TCP transports implement it alike. */
export interface Transport {
  send(to: NodeId, messages: readonly PartitionMessage[]): void;
  setHandler(handler: (from: NodeId, messages: readonly PartitionMessage[]) => void): void;
  close(): void;
}

/** A client's way to reach nodes: direct calls when embedded, TCP frames otherwise. */
export interface NodeConnector {
  request(node: NodeId, request: ClientRequest): Promise<ClientResponse>;
  nodeIds(): readonly NodeId[];
}
