// A node's admin API, served beside /metrics: status (metadata per partition) and the fault
// surface of this process, behind the cluster secret. Every call is logged by the node.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LogError } from './errors.ts';
import type { Fault, NodeHealth } from './faults.ts';
import type { LogNode } from './node.ts';
import type { FollowerLag } from './replica.ts';
import type { ProcessFaults } from './process-faults.ts';
import type { NodeId } from './raft/types.ts';
import type { RecoveryReport } from './storage/types.ts';

export const ADMIN_PREFIX = '/admin/';
/** A fault call's JSON body is a handful of numbers: anything larger is refused unread. */
const ADMIN_BODY_BYTES_MAX = 4_096;
/** Status reads (polled) are logged at most this often per caller; every other call is logged. */
const STATUS_LOG_INTERVAL_MS = 60_000;
/** A secret shorter than this is refused at start: it would be guessable. */
export const CLUSTER_SECRET_BYTES_MIN = 16;

export interface AdminPartitionStatus {
  partition: number;
  isLeader: boolean;
  /** The leader as this replica sees it, 0 when none. */
  leader: NodeId;
  term: number;
  commit: number;
  hw: number;
  logEndOffset: number;
  /** Offset of the first record this replica still holds; retention deleted those before it. */
  logStartOffset: number;
  /** Leader only (null elsewhere). */
  followerLag: FollowerLag[] | null;
}

export interface AdminStatus {
  node: NodeId;
  pid: number;
  nodeIds: NodeId[];
  /** Every node's raft/client address, as this node was started with (--peers). */
  peers: { id: NodeId; host: string; port: number }[];
  partitionCount: number;
  replicationFactor: number;
  running: boolean;
  /** When this node process started its log (wall clock, ms): a new value means it restarted. */
  startedAtMs: number;
  /** The node's disk is full: flushes wait until space returns. */
  diskFull: boolean;
  diskFreeBytes: number;
  recovery: RecoveryReport;
  /** The peer that found this node's disk put back to an older copy since it started (null: none). */
  diskRolledBackBy: NodeId | null;
  health: NodeHealth;
  activeFaults: Fault[];
  partitions: AdminPartitionStatus[];
}

export type AdminResult = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string; details?: unknown } };

/** The secret as given (file contents, trimmed); compared in constant time through SHA-256 digests. */
export function secretMatches(expected: Buffer, presented: string | undefined): boolean {
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(presented ?? '').digest();
  // Both sides always hashed and compared, so timing says nothing about a partial match.
  return timingSafeEqual(a, b) && presented !== undefined;
}

export function nodeStatus(node: LogNode, faults: ProcessFaults, peers: ReadonlyMap<NodeId, { host: string; port: number }>): AdminStatus {
  const partitions: AdminPartitionStatus[] = [];
  for (const [partition, replica] of node.partitions()) {
    const status = replica.raft.status();
    const isLeader = node.isRunning && status.role === 'leader';
    partitions.push({
      partition,
      isLeader,
      leader: node.isRunning ? status.leader : 0,
      term: status.term,
      commit: status.commit,
      hw: replica.hw,
      logEndOffset: replica.logEndOffset(),
      logStartOffset: replica.logStartOffset(),
      followerLag: isLeader ? replica.followerLag() : null,
    });
  }
  const [health] = faults.health();
  if (health === undefined) throw new Error('a process reports its own health');
  return {
    node: node.id,
    pid: process.pid,
    nodeIds: [...node.config.nodeIds],
    peers: [...peers].map(([id, address]) => ({ id, host: address.host, port: address.port })),
    partitionCount: node.config.partitionCount,
    replicationFactor: node.config.replicationFactor,
    running: node.isRunning,
    startedAtMs: node.startedAtMs,
    diskFull: node.diskFull,
    diskFreeBytes: node.diskFreeBytes(),
    recovery: node.recovery,
    diskRolledBackBy: node.diskRolledBackBy,
    health,
    activeFaults: [...faults.activeFaults()],
    partitions,
  };
}

type Args = Record<string, unknown>;

function int(args: Args, name: string, min = 0): number {
  const v = args[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new AdminInputError(`${name} must be an integer ≥ ${min}`);
  return v;
}
function bool(args: Args, name: string, fallback: boolean): boolean {
  const v = args[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new AdminInputError(`${name} must be true or false`);
  return v;
}
function probability(args: Args, name: string): number {
  const v = args[name];
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new AdminInputError(`${name} must be a number in [0, 1]`);
  return v;
}

class AdminInputError extends Error {}

/** Longest delay or pause accepted (as the console's routers). */
const FAULT_DURATION_MS_MAX = 600_000;

/** Each fault-surface call by name: arguments from the JSON body, then the same method the embedded cluster has. */
const CALLS: Record<string, (f: ProcessFaults, a: Args) => unknown> = {
  crash: (f, a) => f.crash(int(a, 'node', 1)),
  isolate: (f, a) => f.isolate(int(a, 'node', 1)),
  cutLink: (f, a) => f.cutLink(int(a, 'source', 1), int(a, 'target', 1), bool(a, 'bothWays', true)),
  healLink: (f, a) => f.healLink(int(a, 'source', 1), int(a, 'target', 1), bool(a, 'bothWays', true)),
  setLinkDelay: (f, a) => f.setLinkDelay(int(a, 'source', 1), int(a, 'target', 1), Math.min(int(a, 'delayMs'), FAULT_DURATION_MS_MAX), Math.min(a['jitterMs'] === undefined ? 0 : int(a, 'jitterMs'), FAULT_DURATION_MS_MAX), bool(a, 'bothWays', true)),
  setLinkLoss: (f, a) => f.setLinkLoss(int(a, 'source', 1), int(a, 'target', 1), probability(a, 'lossRate'), bool(a, 'bothWays', true)),
  slowFsync: (f, a) => f.slowFsync(int(a, 'node', 1), Math.min(int(a, 'delayMs'), FAULT_DURATION_MS_MAX)),
  pause: (f, a) => f.pause(int(a, 'node', 1), Math.min(int(a, 'durationMs', 1), FAULT_DURATION_MS_MAX)),
  corruptSegment: (f, a) => f.corruptSegment(int(a, 'node', 1)),
  startScrub: (f, a) => f.startScrub(int(a, 'node', 1)),
  cutSegmentTail: (f, a) => f.cutSegmentTail(int(a, 'node', 1)),
  setDiskFull: (f, a) => f.setDiskFull(int(a, 'node', 1), bool(a, 'full', true)),
  deferCampaigns: (f, a) => f.deferCampaigns(int(a, 'node', 1), bool(a, 'deferred', true)),
  transferLeadership: (f, a) => f.transferLeadership(int(a, 'partition'), int(a, 'to', 1)),
  healAll: (f) => f.healAll(),
};

export interface AdminApiOptions {
  node: LogNode;
  faults: ProcessFaults;
  peers: ReadonlyMap<NodeId, { host: string; port: number }>;
  /** null: no --cluster-secret-file was given, so every admin call is refused. */
  secret: Buffer | null;
  log: (line: string) => void;
}

/**
 * `GET /admin/status` and `POST /admin/<call>` (JSON body of named arguments), each with
 * `authorization: Bearer <cluster secret>`. Answers 401 without the right secret.
 */
export function adminRoutes(options: AdminApiOptions): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const statusReads = new Map<string, { loggedMs: number; count: number }>();
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    if (!url.pathname.startsWith(ADMIN_PREFIX)) return false;
    const call = url.pathname.slice(ADMIN_PREFIX.length);
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const logCall = (status: number, outcome: string, args?: unknown): void =>
      options.log(JSON.stringify({ event: 'admin', tMs: Date.now(), node: options.node.id, call, args, status, outcome, remote }));
    const header = req.headers.authorization;
    const presented = header?.startsWith('Bearer ') === true ? header.slice('Bearer '.length) : undefined;
    if (options.secret === null || !secretMatches(options.secret, presented)) {
      const why = options.secret === null ? 'the admin API is off: this node was started without --cluster-secret-file' : presented === undefined ? 'missing cluster secret' : 'wrong cluster secret';
      logCall(401, `refused: ${why}`);
      sendJson(res, 401, { ok: false, error: { code: 'Unauthorized', message: why } });
      req.resume();
      return true;
    }
    if (call === 'status') {
      if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
      // A console polls this several times a second: logged once per caller per minute, with the count.
      const host = req.socket.remoteAddress ?? '?';
      const seen = statusReads.get(host) ?? { loggedMs: 0, count: 0 };
      seen.count++;
      if (Date.now() - seen.loggedMs >= STATUS_LOG_INTERVAL_MS) {
        logCall(200, `ok (${seen.count} status reads from ${host} since the last line)`);
        seen.loggedMs = Date.now();
        seen.count = 0;
      }
      statusReads.set(host, seen);
      sendJson(res, 200, nodeStatus(options.node, options.faults, options.peers));
      return true;
    }
    const handler = CALLS[call];
    if (handler === undefined) {
      logCall(404, 'no such call');
      sendJson(res, 404, { ok: false, error: { code: 'NotFound', message: `no admin call "${call}" (calls: status, ${Object.keys(CALLS).join(', ')})` } });
      return true;
    }
    if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
    let args: Args;
    try {
      const body = await readBody(req);
      const parsed: unknown = body.length === 0 ? {} : JSON.parse(body);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new AdminInputError('the body must be a JSON object of named arguments');
      args = parsed as Args;
    } catch (error) {
      logCall(400, `bad request: ${(error as Error).message}`);
      sendJson(res, 400, { ok: false, error: { code: 'BadRequest', message: (error as Error).message } });
      return true;
    }
    try {
      const result = await handler(options.faults, args);
      logCall(200, 'ok', args);
      sendJson(res, 200, { ok: true, result: result ?? null } satisfies AdminResult);
    } catch (error) {
      const status = error instanceof AdminInputError ? 400 : error instanceof LogError ? 409 : 500;
      const payload = error instanceof LogError ? error.toJSON() : { code: status === 400 ? 'BadRequest' : 'Internal', message: error instanceof Error ? error.message : String(error) };
      logCall(status, `failed: ${payload.message}`, args);
      sendJson(res, status, { ok: false, error: payload } satisfies AdminResult);
    }
    return true;
  };
}

function methodNotAllowed(res: ServerResponse, allow: string): true {
  res.setHeader('allow', allow);
  sendJson(res, 405, { ok: false, error: { code: 'MethodNotAllowed', message: `use ${allow}` } });
  return true;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > ADMIN_BODY_BYTES_MAX) {
        reject(new AdminInputError(`body larger than ${ADMIN_BODY_BYTES_MAX} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
