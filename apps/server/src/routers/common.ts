// Shared input schemas and helpers of the routers.

import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { LogError } from '../../../../packages/log-cluster/src/errors.ts';
import type { ClusterHandle, Services } from '../services.ts';

/** The longest range any query accepts: retention is 1 h, a day leaves room for slack. */
export const RANGE_MS_MAX = 24 * 3_600_000;
export const DEFAULT_RANGE_MS = 5 * 60_000;

export const rangeSchema = z
  .union([
    z.object({ fromMs: z.number().int().nonnegative(), toMs: z.number().int().nonnegative() }).refine((r) => r.fromMs < r.toMs, { message: 'fromMs must be before toMs', path: ['toMs'] }),
    z.object({ lastMs: z.number().int().positive().max(RANGE_MS_MAX) }),
  ])
  .default({ lastMs: DEFAULT_RANGE_MS });

export type RangeInput = z.infer<typeof rangeSchema>;

export interface Range {
  fromMs: number;
  toMs: number;
}

export function resolveRange(range: RangeInput, nowMs = Date.now()): Range {
  if ('lastMs' in range) return { fromMs: nowMs - range.lastMs, toMs: nowMs };
  return { fromMs: range.fromMs, toMs: range.toMs };
}

export const nodeIdSchema = z.number().int().positive().max(1_000);
export const partitionSchema = z.number().int().nonnegative().max(1_000_000);

/** NOT_FOUND unless the partition exists (as the engine or, in attach mode, the scrapes say). */
export function assertPartition(services: Services, partition: number): void {
  const count = services.cluster?.partitionCount ?? services.view.partitionCount;
  if (partition >= count) {
    throw new TRPCError({ code: 'NOT_FOUND', message: `partition ${partition} does not exist (partitions are 0..${count - 1})` });
  }
}

export function knownNodeIds(services: Services): number[] {
  if (services.cluster !== null) return [...services.cluster.nodeIds()];
  return services.scraper.statuses().flatMap((s) => (s.nodeId === null ? [] : [s.nodeId])).sort((a, b) => a - b);
}

export function assertNode(services: Services, node: number): void {
  const nodes = knownNodeIds(services);
  if (!nodes.includes(node)) throw new TRPCError({ code: 'NOT_FOUND', message: `node ${node} does not exist (nodes: ${nodes.join(', ')})` });
}

export function requireCluster(services: Services): ClusterHandle {
  if (services.cluster === null) {
    throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'faults and load need a cluster to act on: this server only watches (--attach without --cluster-secret-file); start it with --cluster DATA_DIR, or --attach with --cluster-secret-file' });
  }
  return services.cluster;
}

const LOG_ERROR_CODES: Record<LogError['code'], TRPCError['code']> = {
  UnknownPartition: 'NOT_FOUND',
  NotLeader: 'CONFLICT',
  Unavailable: 'PRECONDITION_FAILED',
  TooLarge: 'PAYLOAD_TOO_LARGE',
  Timeout: 'TIMEOUT',
  OffsetOutOfRange: 'BAD_REQUEST',
  OutOfOrderSequence: 'CONFLICT',
  DiskFull: 'PRECONDITION_FAILED',
};

/** Runs an engine call, turning its typed errors into tRPC errors with the engine's message. */
export async function engineCall<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof TRPCError) throw error;
    if (error instanceof LogError) throw new TRPCError({ code: LOG_ERROR_CODES[error.code], message: error.message, cause: error });
    throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: error instanceof Error ? error.message : String(error), cause: error });
  }
}
