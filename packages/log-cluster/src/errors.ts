import type { NodeId } from './raft/types.ts';

/**
 * Typed client errors. Each carries what the caller needs next; `retriable` says whether an
 * idempotent retry is safe and useful.
 */
export type LogErrorCode =
  | 'NotLeader'
  | 'Unavailable'
  | 'TooLarge'
  | 'Timeout'
  | 'UnknownPartition'
  | 'OffsetOutOfRange'
  | 'OutOfOrderSequence'
  | 'DiskFull';

export class LogError extends Error {
  override name = 'LogError';
  constructor(
    readonly code: LogErrorCode,
    message: string,
    readonly details: { readonly leaderHint?: NodeId; readonly partition?: number; readonly earliestOffset?: number } = {},
  ) {
    super(message);
  }

  get retriable(): boolean {
    // DiskFull is answered only when full disks leave too few replicas to commit: retrying would just
    // turn it into a Timeout, so the caller learns it at once (and the named node needs an operator).
    return this.code === 'NotLeader' || this.code === 'Unavailable' || this.code === 'Timeout';
  }

  toJSON(): { code: LogErrorCode; message: string; details: LogError['details'] } {
    return { code: this.code, message: this.message, details: this.details };
  }

  static fromJSON(value: { code: LogErrorCode; message: string; details?: LogError['details'] }): LogError {
    return new LogError(value.code, value.message, value.details ?? {});
  }
}

export const notLeader = (partition: number, leaderHint: NodeId): LogError =>
  new LogError('NotLeader', leaderHint ? `partition ${partition}: not the leader; try node ${leaderHint}` : `partition ${partition}: not the leader and no leader is known yet`, { partition, leaderHint });
export const unknownPartition = (partition: number, partitionCount: number): LogError =>
  new LogError('UnknownPartition', `partition ${partition} does not exist (partitions are 0..${partitionCount - 1})`, { partition });
