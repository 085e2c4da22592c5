// The supervisor's state file, `<data-dir>/cluster.json`: which nodes, on which ports, with which
// pids, where the secret and certificates are. The console (`--cluster`) and `logscope drill
// --cluster` read it to find the cluster.

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export const STATE_FILE = 'cluster.json';

const nodeSchema = z.object({
  id: z.number().int().positive(),
  host: z.string(),
  /** Raft peers and clients. */
  port: z.number().int().min(1).max(65_535),
  /** /metrics, /histograms, /spans and /admin/. */
  metricsUrl: z.string().url(),
  /** null while the node is down. */
  pid: z.number().int().positive().nullable(),
  dataDir: z.string(),
  logFile: z.string(),
  /** How the node's process last ended by itself, until it starts again (absent in state files before it). */
  exited: z.object({ code: z.number().int().nullable(), signal: z.string().nullable(), reason: z.string().nullable() }).nullable().optional(),
});

export const clusterStateSchema = z.object({
  version: z.literal(1),
  supervisor: z.object({ pid: z.number().int().positive(), url: z.string().url() }),
  secretFile: z.string(),
  partitionCount: z.number().int().positive(),
  replicationFactor: z.number().int().positive(),
  /**
   * The segment size and retention every node was started with (`cluster up --segment-mib
   * --retention-mib --retention-hours`, defaults filled in); null: the nodes' defaults. Absent in
   * state files before it.
   */
  journal: z.object({ segmentMib: z.number().int().positive(), retentionMib: z.number().int().positive(), retentionHours: z.number().positive() }).nullable().optional(),
  tls: z.object({ certFile: z.string(), keyFile: z.string(), caFile: z.string() }).nullable(),
  nodes: z.array(nodeSchema).min(1),
  /** Nodes that stopped on a disk error and what became of each (AutoRestartEvent); absent in older files. */
  autoRestarts: z.array(z.object({
    seq: z.number().int().positive(),
    node: z.number().int().positive(),
    stoppedAtMs: z.number(),
    reason: z.string(),
    note: z.string(),
    restart: z.boolean(),
    restarted: z.object({ atMs: z.number(), error: z.string().nullable() }).nullable(),
  })).optional(),
});

export type ClusterState = z.infer<typeof clusterStateSchema>;
export type ClusterStateNode = z.infer<typeof nodeSchema>;

export function readClusterState(dataDir: string): ClusterState {
  const file = join(dataDir, STATE_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`no cluster state in ${file}: start the cluster with \`logscope cluster up --data-dir ${dataDir}\``);
  }
  return clusterStateSchema.parse(JSON.parse(text));
}

/** Written whole and renamed, so a reader never sees half a file. */
export function writeClusterState(dataDir: string, state: ClusterState): void {
  const file = join(dataDir, STATE_FILE);
  writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}
