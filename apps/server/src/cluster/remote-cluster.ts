// A cluster of `logscope node` processes as the console and the drill engine see it: the same
// fault surface as the embedded cluster, spread over the nodes' admin APIs (each process acts on
// its own disk and on the sending half of its own links) and the supervisor (crash = SIGKILL of
// the process, restart, corrupting a stopped node's segment). The engine's accessors are
// synchronous, so a polled snapshot of every node's status answers them.

import { LogClient, type ClientOptions } from '../../../../packages/log-cluster/src/client.ts';
import { realScheduler } from '../../../../packages/log-cluster/src/clock.ts';
import type { AutoRestartEvent } from '../../../../packages/log-cluster/src/auto-restart.ts';
import { LogError, type LogErrorCode } from '../../../../packages/log-cluster/src/errors.ts';
import type { Fault, NodeHealth } from '../../../../packages/log-cluster/src/faults.ts';
import type { DiskCopy } from '../../../../packages/log-cluster/src/storage/disk-copy.ts';
import type { AdminPartitionStatus, AdminStatus } from '../../../../packages/log-cluster/src/admin.ts';
import { replicasFor } from '../../../../packages/log-cluster/src/placement.ts';
import { PLAIN_SOCKETS, TcpConnector, type PeerAddress } from '../../../../packages/log-cluster/src/transport/tcp.ts';
import { loadTls, tlsSockets, type TlsMaterial } from '../../../../packages/log-cluster/src/transport/tls.ts';
import type { DrillCluster, DrillNode, DrillReplica } from '../drills/engine.ts';
import { ScrapeError, type ScrapeSource } from '../scrape/sources.ts';
import { readClusterSecret } from '../node-command.ts';
import { HttpClient } from './http-client.ts';
import { clusterStateSchema, readClusterState, type ClusterState } from './state.ts';
import type { SupervisorCall } from './supervisor.ts';

/** How often every node's status is read: the drill checks see leaders and high watermarks this fresh. */
export const STATUS_POLL_MS_DEFAULT = 100;
/** Histogram windows (the slow-disk drill's fsync figures) are fetched this often. */
const HISTOGRAM_POLL_MS = 1_000;
/** Histogram windows older than this are dropped from the cache. */
const HISTOGRAM_KEEP_MS = 10 * 60_000;
/**
 * A status older than this counts as "node not answering". A refused connection (no process)
 * counts at once; a slow answer does not, since on a busy machine a live node can take seconds.
 */
const STATUS_STALE_MS = 5_000;
/** A restarted process must answer its admin API within this. */
const RESTART_READY_TIMEOUT_MS = 30_000;
const STATUS_TIMEOUT_MS = 3_000;
/** How often the supervisor's state is read while every node answers (automatic restarts). */
const SUPERVISOR_POLL_MS = 1_000;
/** The supervisor answers a restart once the process printed its ready line (it waits up to 120 s). */
const SUPERVISOR_CALL_TIMEOUT_MS = 130_000;

export interface RemoteNode {
  readonly id: number;
  /** Raft peers and clients. */
  readonly address: PeerAddress;
  /** Base URL of /metrics and /admin/. */
  readonly metricsUrl: string;
}

export interface RemoteClusterOptions {
  readonly nodes: readonly RemoteNode[];
  readonly partitionCount: number;
  readonly replicationFactor: number;
  readonly secret: Buffer;
  readonly tls: TlsMaterial | null;
  /** `logscope cluster up`'s control API; without it crash goes to the node itself and restart is refused. */
  readonly supervisorUrl: string | null;
  readonly statusPollMs?: number;
}

interface HistogramWindow {
  metric: string;
  partition: number | null;
  startMs: number;
  endMs: number;
  encoded: string;
}

interface NodeView {
  status: AdminStatus | null;
  fetchedMs: number;
  lastError: string | null;
  windows: HistogramWindow[];
  histogramsSinceMs: number | undefined;
}

export class RemoteCluster implements DrillCluster {
  readonly partitionCount: number;
  readonly replicationFactor: number;
  private readonly nodes: ReadonlyMap<number, RemoteNode>;
  private readonly views = new Map<number, NodeView>();
  private readonly http: HttpClient;
  private readonly crashed = new Set<number>();
  private readonly clients: LogClient[] = [];
  private readonly connectors: TcpConnector[] = [];
  private statusTimer: NodeJS.Timeout | null = null;
  private histogramTimer: NodeJS.Timeout | null = null;
  /** Per node, its status read in flight: each node is read on its own (see refresh). */
  private readonly statusReads = new Map<number, Promise<boolean>>();
  private supervisorRead: Promise<void> | null = null;
  private supervisorAskedMs = Number.NEGATIVE_INFINITY;
  private supervisorAutoRestarts: readonly AutoRestartEvent[] = [];

  private constructor(private readonly options: RemoteClusterOptions) {
    this.partitionCount = options.partitionCount;
    this.replicationFactor = options.replicationFactor;
    this.nodes = new Map(options.nodes.map((n) => [n.id, n]));
    for (const n of options.nodes) this.views.set(n.id, { status: null, fetchedMs: 0, lastError: 'not read yet', windows: [], histogramsSinceMs: undefined });
    this.http = new HttpClient(options.tls);
  }

  /** Starts polling; resolves after the first status round. */
  static async connect(options: RemoteClusterOptions): Promise<RemoteCluster> {
    const cluster = new RemoteCluster(options);
    // Polling first: while the first reads wait on a node slow to answer, the others are read again.
    cluster.statusTimer = setInterval(() => void cluster.refresh(), options.statusPollMs ?? STATUS_POLL_MS_DEFAULT);
    cluster.statusTimer.unref();
    await cluster.refresh();
    await cluster.pollHistograms();
    cluster.histogramTimer = setInterval(() => void cluster.pollHistograms(), HISTOGRAM_POLL_MS);
    cluster.histogramTimer.unref();
    return cluster;
  }

  /** From `logscope cluster up`'s state file in `dataDir`. */
  static fromStateFile(dataDir: string, extra: { statusPollMs?: number } = {}): Promise<RemoteCluster> {
    const state: ClusterState = readClusterState(dataDir);
    return RemoteCluster.connect({
      nodes: state.nodes.map((n) => ({ id: n.id, address: { host: n.host, port: n.port }, metricsUrl: n.metricsUrl })),
      partitionCount: state.partitionCount,
      replicationFactor: state.replicationFactor,
      secret: readClusterSecret(state.secretFile),
      tls: state.tls === null ? null : loadTls(state.tls),
      supervisorUrl: state.supervisor.url,
      ...extra,
    });
  }

  /**
   * From the nodes' metrics/admin URLs alone (`logscope up --attach URL,… --cluster-secret-file F`):
   * each node's status names its id and every node's TCP address; crash then goes to the node
   * itself (it SIGKILLs itself) and restart is refused (no supervisor to start a process).
   */
  static async fromAdminUrls(urls: readonly string[], secret: Buffer, tls: TlsMaterial | null): Promise<RemoteCluster> {
    const http = new HttpClient(tls);
    try {
      const nodes: RemoteNode[] = [];
      let first: AdminStatus | null = null;
      for (const url of urls) {
        const status = await adminCall<AdminStatus>(http, url, secret, 'GET', 'status');
        first ??= status;
        const address = status.peers.find((p) => p.id === status.node);
        if (address === undefined) throw new Error(`node ${status.node} (${url}) does not list its own address`);
        nodes.push({ id: status.node, address: { host: address.host, port: address.port }, metricsUrl: url.replace(/\/+$/, '') });
      }
      if (first === null) throw new Error('no admin URL given');
      const missing = first.nodeIds.filter((id) => !nodes.some((n) => n.id === id));
      if (missing.length > 0) throw new Error(`--attach lacks the URL of node ${missing.join(', ')} (every node's metrics/admin URL is needed)`);
      return await RemoteCluster.connect({ nodes, partitionCount: first.partitionCount, replicationFactor: first.replicationFactor, secret, tls, supervisorUrl: null });
    } finally {
      http.close();
    }
  }

  // ---- what the server and the drill engine read ----

  nodeIds(): readonly number[] {
    return [...this.nodes.keys()];
  }

  replicasOf(partition: number): number[] {
    return replicasFor(partition, this.nodeIds(), this.replicationFactor);
  }

  leaderOf(partition: number): number {
    for (const id of this.replicasOf(partition)) {
      if (this.partitionStatus(id, partition)?.isLeader === true) return id;
    }
    return 0;
  }

  node(id: number): DrillNode | null {
    if (!this.nodes.has(id)) return null;
    const status = this.liveStatus(id);
    const replica = (partition: number): DrillReplica | undefined => {
      const p = this.partitionStatus(id, partition);
      if (p === undefined) return undefined;
      return { isLeader: p.isLeader, hw: p.hw, followerLag: () => p.followerLag ?? [] };
    };
    return {
      isRunning: status !== null && status.running,
      startedAtMs: status?.startedAtMs ?? 0,
      diskFull: status?.diskFull ?? false,
      diskFreeBytes: () => status?.diskFreeBytes ?? 0,
      recovery: { corruption: status?.recovery.corruption ?? null, faulty: status?.recovery.faulty ?? [] },
      diskRolledBackBy: status?.diskRolledBackBy ?? null,
      replica,
    };
  }

  telemetry(id: number): { histogramsJson(sinceMs?: number): { nodeId: number; windows: HistogramWindow[] } } {
    const view = this.views.get(id);
    return {
      histogramsJson: (sinceMs) => ({ nodeId: id, windows: (view?.windows ?? []).filter((w) => sinceMs === undefined || w.endMs > sinceMs) }),
    };
  }

  /** A TCP client of the cluster (mutual TLS when configured). */
  client(options: Partial<ClientOptions> = {}): LogClient {
    const peers = new Map([...this.nodes].map(([id, n]) => [id, n.address]));
    const connector = new TcpConnector(peers, this.options.tls === null ? PLAIN_SOCKETS : tlsSockets(this.options.tls));
    const client = new LogClient(connector, realScheduler, options);
    // Connections stay open until stop(): a drill opens two clients per run (probe, verdict).
    this.clients.push(client);
    this.connectors.push(connector);
    return client;
  }

  async waitForLeaders(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.refreshNow();
      let all = true;
      for (let p = 0; p < this.partitionCount && all; p++) if (this.leaderOf(p) === 0) all = false;
      if (all) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Scrape targets for the console: each node's /metrics, /histograms and /spans over HTTP(S). */
  scrapeSources(): ScrapeSource[] {
    return [...this.nodes.values()].map((n) => {
      const get = async (path: string, signal: AbortSignal): Promise<string> => {
        let reply;
        try {
          reply = await this.http.request(`${n.metricsUrl}${path}`, { signal });
        } catch (cause) {
          throw new ScrapeError(signal.aborted ? 'timeout' : 'down', `GET ${n.metricsUrl}${path}: ${(cause as Error).message}`, { cause });
        }
        if (reply.status !== 200) throw new ScrapeError('http', `GET ${n.metricsUrl}${path}: HTTP ${reply.status}`);
        return reply.text;
      };
      const json = async (path: string, signal: AbortSignal): Promise<unknown> => {
        const text = await get(path, signal);
        try {
          return JSON.parse(text) as unknown;
        } catch (cause) {
          throw new ScrapeError('malformed', `GET ${n.metricsUrl}${path}: not JSON`, { cause });
        }
      };
      const since = (ms: number | undefined): string => (ms === undefined ? '' : `?since=${ms}`);
      return {
        name: n.metricsUrl,
        nodeId: n.id,
        metricsText: (signal) => get('/metrics', signal),
        histogramsJson: (sinceMs, signal) => json(`/histograms${since(sinceMs)}`, signal),
        spansJson: (sinceMs, signal) => json(`/spans${since(sinceMs)}`, signal),
      };
    });
  }

  // ---- fault surface ----

  async crash(node: number): Promise<void> {
    this.known(node);
    if (this.options.supervisorUrl !== null) await this.supervisorCall('crash', node);
    else await this.admin(node, 'crash', { node });
    this.crashed.add(node);
    this.markDown(node, 'crashed (SIGKILL)');
  }

  async restart(node: number): Promise<void> {
    this.known(node);
    if (this.options.supervisorUrl === null) throw new LogError('Unavailable', `restarting node ${node} needs the supervisor (logscope cluster up); this console was given node URLs only`);
    await this.supervisorCall('restart', node);
    const deadline = Date.now() + RESTART_READY_TIMEOUT_MS;
    while (!(await this.refreshNode(node))) {
      if (Date.now() >= deadline) throw new LogError('Unavailable', `node ${node} restarted but its admin API did not answer within ${RESTART_READY_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    this.crashed.delete(node);
  }

  /** Every process cuts what it sends to the node; the node cuts what it sends to everyone. */
  async isolate(node: number): Promise<void> {
    this.known(node);
    await this.onLiveNodes(this.nodeIds(), 'isolate', { node }, [node]);
  }

  cutLink(source: number, target: number, bothWays = true): Promise<void> {
    return this.onLiveNodes([source, target], 'cutLink', { source, target, bothWays }, [source]);
  }

  healLink(source: number, target: number, bothWays = true): Promise<void> {
    return this.onLiveNodes([source, target], 'healLink', { source, target, bothWays }, []);
  }

  setLinkDelay(source: number, target: number, delayMs: number, jitterMs = 0, bothWays = true): Promise<void> {
    return this.onLiveNodes([source, target], 'setLinkDelay', { source, target, delayMs, jitterMs, bothWays }, [source]);
  }

  setLinkLoss(source: number, target: number, lossRate: number, bothWays = true): Promise<void> {
    return this.onLiveNodes([source, target], 'setLinkLoss', { source, target, lossRate, bothWays }, [source]);
  }

  async slowFsync(node: number, delayMs: number): Promise<void> {
    await this.admin(node, 'slowFsync', { node, delayMs });
  }

  async pause(node: number, durationMs: number): Promise<void> {
    await this.admin(node, 'pause', { node, durationMs });
  }

  async corruptSegment(node: number): Promise<{ file: string; position: number }> {
    this.known(node);
    // A stopped node's files are the supervisor's to touch; a running node corrupts its own.
    if (this.liveStatus(node) === null && this.options.supervisorUrl !== null) return this.supervisorCall<{ file: string; position: number }>('corruptSegment', node);
    return this.admin<{ file: string; position: number }>(node, 'corruptSegment', { node });
  }

  async startScrub(node: number): Promise<{ bytes: number; bytesPerSec: number }> {
    this.known(node);
    if (this.liveStatus(node) === null) throw new LogError('Unavailable', `node ${node} is down: there is nothing to scrub until it restarts (its recovery checks every record)`);
    return this.admin<{ bytes: number; bytesPerSec: number }>(node, 'startScrub', { node });
  }

  async cutSegmentTail(node: number): Promise<{ file: string; cutBytes: number }> {
    this.known(node);
    if (this.liveStatus(node) === null && this.options.supervisorUrl !== null) return this.supervisorCall<{ file: string; cutBytes: number }>('cutSegmentTail', node);
    return this.admin<{ file: string; cutBytes: number }>(node, 'cutSegmentTail', { node });
  }

  /** A stopped node's files are the supervisor's to copy; a running node's are no crash image. */
  async copyDisk(node: number): Promise<DiskCopy> {
    return this.stoppedNodeCall('copyDisk', node, 'copy its disk');
  }

  async putBackDiskCopy(node: number): Promise<DiskCopy> {
    return this.stoppedNodeCall('putBackDiskCopy', node, 'put a copy of its disk back');
  }

  private async stoppedNodeCall(call: 'copyDisk' | 'putBackDiskCopy', node: number, what: string): Promise<DiskCopy> {
    this.known(node);
    if (this.liveStatus(node) !== null) throw new LogError('Unavailable', `node ${node} is running: crash it before you ${what}`);
    if (this.options.supervisorUrl === null) throw new LogError('Unavailable', `node ${node}: only the supervisor (logscope cluster) can ${what}, and this console was not given its URL`);
    return this.supervisorCall<DiskCopy>(call, node);
  }

  async setDiskFull(node: number, full: boolean): Promise<void> {
    await this.admin(node, 'setDiskFull', { node, full });
  }

  async deferCampaigns(node: number, deferred: boolean): Promise<void> {
    await this.admin(node, 'deferCampaigns', { node, deferred });
  }

  async transferLeadership(partition: number, to: number): Promise<void> {
    const leader = this.leaderOf(partition);
    if (leader === 0) throw new LogError('Unavailable', `partition ${partition} has no leader to transfer from`, { partition });
    if (!this.replicasOf(partition).includes(to)) throw new LogError('NotLeader', `node ${to} holds no replica of partition ${partition} (replicas: ${this.replicasOf(partition).join(', ')})`, { partition });
    await this.admin(leader, 'transferLeadership', { partition, to });
  }

  async healAll(): Promise<void> {
    await this.refreshNow();
    if (this.options.supervisorUrl !== null) {
      for (const id of this.nodeIds()) if (this.liveStatus(id) === null) await this.restart(id);
    }
    const failures: string[] = [];
    await Promise.all(this.nodeIds().map(async (id) => {
      try {
        await this.admin(id, 'healAll', {});
      } catch (error) {
        failures.push(`node ${id}: ${(error as Error).message}`);
      }
    }));
    await this.refreshNow();
    if (failures.length > 0) throw new LogError('Unavailable', `healing failed on ${failures.join('; ')}`);
  }

  /** Nodes the supervisor restarted by itself after a disk error (as of its last answer; none without a supervisor). */
  autoRestarts(): readonly AutoRestartEvent[] {
    return this.supervisorAutoRestarts;
  }

  health(): readonly NodeHealth[] {
    return this.nodeIds().map((id) => {
      const status = this.liveStatus(id);
      if (status !== null) return status.health;
      const view = this.views.get(id);
      return { node: id, up: false, reason: this.crashed.has(id) ? 'crashed (SIGKILL)' : (view?.lastError ?? 'not answering'), fsyncDelayMs: 0, diskFull: false, pausedUntilMs: 0, campaignsDeferred: false };
    });
  }

  activeFaults(): readonly Fault[] {
    const seen = new Map<string, Fault>();
    for (const id of this.crashed) seen.set(`crash:${id}`, { kind: 'crash', node: id });
    for (const id of this.nodeIds()) {
      for (const fault of this.liveStatus(id)?.activeFaults ?? []) seen.set(JSON.stringify(fault), fault);
    }
    return [...seen.values()];
  }

  /** Stops polling and closes clients; the node processes keep running (they are not ours). */
  async stop(): Promise<void> {
    if (this.statusTimer !== null) clearInterval(this.statusTimer);
    if (this.histogramTimer !== null) clearInterval(this.histogramTimer);
    await this.readsInFlight();
    for (const client of this.clients) client.close();
    for (const connector of this.connectors) connector.close();
    this.http.close();
  }

  // ---- internals ----

  /** DrillCluster.settled: the snapshot reflects every action made so far. */
  settled(): Promise<void> {
    return this.refreshNow();
  }

  /** A status round that starts after this call (reads in flight may predate a change just made). */
  async refreshNow(): Promise<void> {
    await this.readsInFlight();
    await this.refresh();
  }

  /**
   * Reads every node's status, each node on its own: a read already in flight for a node is
   * joined, not repeated. Until 2026-11-29 the nodes were read in rounds that never overlapped, so
   * one node slow to answer (a restarted node's recovery holds its loop; a read waits up to
   * STATUS_TIMEOUT_MS), and a slow supervisor after it, held every other node's next read: their
   * statuses aged past STATUS_STALE_MS and they read as down, which a drill's stop condition takes
   * for a node it did not target going down.
   */
  async refresh(): Promise<void> {
    const ids = this.nodeIds();
    const answered = await Promise.all(ids.map((id) => this.readStatus(id)));
    const down = ids.filter((id, k) => answered[k] !== true && !this.crashed.has(id));
    // While a node is down (its reason); else once a second, for automatic restarts.
    if (down.length > 0 || Date.now() - this.supervisorAskedMs >= SUPERVISOR_POLL_MS) {
      this.supervisorRead ??= this.askSupervisor(down).finally(() => {
        this.supervisorRead = null;
      });
      await this.supervisorRead;
    }
  }

  private readStatus(id: number): Promise<boolean> {
    let read = this.statusReads.get(id);
    if (read === undefined) {
      read = this.refreshNode(id).finally(() => this.statusReads.delete(id));
      this.statusReads.set(id, read);
    }
    return read;
  }

  private async readsInFlight(): Promise<void> {
    await Promise.all(this.statusReads.values());
    await this.supervisorRead;
  }

  private async refreshNode(id: number): Promise<boolean> {
    const view = this.views.get(id);
    if (view === undefined) return false;
    try {
      view.status = await this.admin<AdminStatus>(id, 'status', undefined, STATUS_TIMEOUT_MS);
      view.fetchedMs = Date.now();
      view.lastError = null;
      return true;
    } catch (error) {
      const message = (error as Error).message;
      if (/ECONNREFUSED|ECONNRESET|EHOSTUNREACH|socket hang up/.test(message)) view.status = null;
      view.lastError = message;
      return false;
    }
  }

  /**
   * Why nodes that do not answer are down, when the supervisor knows: a process that exited by
   * itself, and the reason it gave (a disk error: a failed flush, a corrupt record read); and the
   * nodes it restarted by itself.
   */
  private async askSupervisor(down: readonly number[]): Promise<void> {
    const url = this.options.supervisorUrl;
    if (url === null) return;
    this.supervisorAskedMs = Date.now();
    try {
      const reply = await this.http.request(`${url}/supervisor/state`, { headers: { authorization: `Bearer ${this.options.secret.toString('utf8')}` }, timeoutMs: STATUS_TIMEOUT_MS });
      if (reply.status !== 200) return;
      const state = clusterStateSchema.parse(JSON.parse(reply.text));
      this.supervisorAutoRestarts = state.autoRestarts ?? [];
      for (const id of down) {
        const exited = state.nodes.find((node) => node.id === id)?.exited;
        const view = this.views.get(id);
        if (exited === null || exited === undefined || view === undefined) continue;
        view.lastError = `process exited (${exited.signal ?? `code ${exited.code ?? '?'}`})${exited.reason === null ? '' : `: ${exited.reason}`}`;
      }
    } catch {
      // The supervisor is down too: the scrape error stays the reason.
    }
  }

  private async pollHistograms(): Promise<void> {
    const cutoffMs = Date.now() - HISTOGRAM_KEEP_MS;
    await Promise.all(this.nodeIds().map(async (id) => {
      const view = this.views.get(id);
      const node = this.nodes.get(id);
      if (view === undefined || node === undefined || view.status === null) return;
      try {
        const since = view.histogramsSinceMs === undefined ? '' : `?since=${view.histogramsSinceMs}`;
        const reply = await this.http.request(`${node.metricsUrl}/histograms${since}`, { timeoutMs: STATUS_TIMEOUT_MS });
        if (reply.status !== 200) return;
        const body = JSON.parse(reply.text) as { windows: HistogramWindow[] };
        const known = new Set(view.windows.map((w) => `${w.metric}:${w.partition ?? ''}:${w.startMs}`));
        for (const w of body.windows) {
          if (!known.has(`${w.metric}:${w.partition ?? ''}:${w.startMs}`)) view.windows.push(w);
          view.histogramsSinceMs = Math.max(view.histogramsSinceMs ?? 0, w.endMs);
        }
        view.windows = view.windows.filter((w) => w.endMs > cutoffMs);
      } catch {
        // A node that does not answer has no new windows; its status says why.
      }
    }));
  }

  private liveStatus(id: number): AdminStatus | null {
    const view = this.views.get(id);
    if (view === undefined || view.status === null || Date.now() - view.fetchedMs > STATUS_STALE_MS) return null;
    return view.status;
  }

  private partitionStatus(id: number, partition: number): AdminPartitionStatus | undefined {
    const status = this.liveStatus(id);
    if (status === null || !status.running) return undefined;
    return status.partitions.find((p) => p.partition === partition);
  }

  private markDown(id: number, reason: string): void {
    const view = this.views.get(id);
    if (view === undefined) return;
    view.status = null;
    view.lastError = reason;
  }

  private known(node: number): void {
    if (!this.nodes.has(node)) throw new LogError('Unavailable', `no node ${node} in this cluster (nodes: ${this.nodeIds().join(', ')})`);
  }

  /** A cluster-wide call spread over the processes concerned; the `required` ones must be up. */
  private async onLiveNodes(targets: readonly number[], call: string, args: Record<string, unknown>, required: readonly number[]): Promise<void> {
    for (const id of targets) this.known(id);
    await Promise.all([...new Set(targets)].map(async (id) => {
      if (this.liveStatus(id) === null && !required.includes(id)) return; // a stopped process sends nothing anyway
      await this.admin(id, call, args);
    }));
  }

  private async admin<T>(node: number, call: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T> {
    this.known(node);
    const url = this.nodes.get(node)?.metricsUrl ?? '';
    try {
      const result = await adminCall<T>(this.http, url, this.options.secret, args === undefined ? 'GET' : 'POST', call, args, timeoutMs);
      // What the caller reads next (health, active faults) includes the change just made.
      if (args !== undefined && call !== 'crash') await this.refreshNode(node);
      return result;
    } catch (error) {
      if (error instanceof LogError) throw error;
      throw new LogError('Unavailable', `node ${node} (${url}): ${(error as Error).message}`);
    }
  }

  private async supervisorCall<T>(call: SupervisorCall, node: number): Promise<T> {
    const url = this.options.supervisorUrl ?? '';
    const reply = await this.http.request(`${url}/supervisor/${call}`, { method: 'POST', headers: { authorization: `Bearer ${this.options.secret.toString('utf8')}` }, body: JSON.stringify({ node }), timeoutMs: SUPERVISOR_CALL_TIMEOUT_MS });
    const body = JSON.parse(reply.text) as { ok: boolean; result?: T; error?: { message: string } };
    if (!body.ok) throw new LogError('Unavailable', `supervisor ${call} node ${node}: ${body.error?.message ?? `HTTP ${reply.status}`}`);
    return body.result as T;
  }
}

/** One admin call: GET status or POST a fault call; the node's typed errors come back as LogErrors. */
export async function adminCall<T>(http: HttpClient, baseUrl: string, secret: Buffer, method: 'GET' | 'POST', call: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T> {
  const reply = await http.request(`${baseUrl.replace(/\/+$/, '')}/admin/${call}`, {
    method,
    headers: { authorization: `Bearer ${secret.toString('utf8')}` },
    ...(method === 'POST' ? { body: JSON.stringify(args ?? {}) } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
  const body = JSON.parse(reply.text) as { ok?: boolean; result?: T; error?: { code: string; message: string; details?: LogError['details'] } } & Partial<AdminStatus>;
  if (method === 'GET' && reply.status === 200) return body as T;
  if (reply.status === 200 && body.ok === true) return body.result as T;
  const error = body.error ?? { code: 'Unavailable', message: `HTTP ${reply.status}` };
  const known: readonly string[] = ['NotLeader', 'Unavailable', 'TooLarge', 'Timeout', 'UnknownPartition', 'OffsetOutOfRange', 'OutOfOrderSequence', 'DiskFull'];
  if (known.includes(error.code)) throw LogError.fromJSON({ code: error.code as LogErrorCode, message: error.message, ...(error.details !== undefined ? { details: error.details } : {}) });
  throw new LogError('Unavailable', `${call}: ${error.message} (HTTP ${reply.status})`);
}
