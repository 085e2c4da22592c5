// `logscope cluster up`: starts N `logscope node` processes on this machine, keeps its state in
// <data-dir>/cluster.json, and serves a small control API (behind the cluster secret) through
// which a console crashes a node for real (SIGKILL), corrupts a stopped node's segment, and
// restarts it. Nodes that exit are not restarted until told (a crash drill needs them down), except
// one that stopped on a corrupt record: its restart is the repair (AutoRestart).

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoRestart } from '../../../../packages/log-cluster/src/auto-restart.ts';
import { corruptNewestSegment, cutNewestSegmentTail } from '../../../../packages/log-cluster/src/storage/corrupt.ts';
import { copyDiskAside, putBackDiskCopy, type DiskCopy } from '../../../../packages/log-cluster/src/storage/disk-copy.ts';
import { FileDisk } from '../../../../packages/log-cluster/src/storage/file-disk.ts';
import { secretMatches } from '../../../../packages/log-cluster/src/admin.ts';
import { loadTls, type TlsFiles } from '../../../../packages/log-cluster/src/transport/tls.ts';
import { readClusterSecret, type BackgroundReads, type JournalFlags } from '../node-command.ts';
import { nodeEntryArgs } from './node-entry.ts';
import { nodeProcessEnv, nodeProcessV8Flags } from './node-v8-flags.ts';
import { freeListenPorts } from './ports.ts';
import { writeClusterState, type ClusterState } from './state.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
/** A node that has not printed its ready line by then failed to start (generous: a busy machine). */
const NODE_READY_TIMEOUT_MS = 120_000;
/** A stopping node gets this long after SIGTERM before SIGKILL. */
const NODE_STOP_TIMEOUT_MS = 10_000;
const CONTROL_BODY_BYTES_MAX = 1_024;
export const SUPERVISOR_PREFIX = '/supervisor/';

/** What `POST /supervisor/<call>` does to a node (`{"node": N}`): the fault surface's calls on a stopped node's process and files. */
export const SUPERVISOR_CALLS = ['crash', 'restart', 'corruptSegment', 'cutSegmentTail', 'copyDisk', 'putBackDiskCopy'] as const;
export type SupervisorCall = (typeof SUPERVISOR_CALLS)[number];
const isSupervisorCall = (call: string): call is SupervisorCall => (SUPERVISOR_CALLS as readonly string[]).includes(call);

export interface SupervisorOptions {
  dataDir: string;
  nodeCount: number;
  partitionCount: number;
  replicationFactor: number;
  /** Address nodes bind to and advertise (one machine: loopback). */
  host: string;
  /** Node ports P..P+n-1, metrics/admin P+n..P+2n-1, supervisor P+2n; null picks free ports. */
  basePort: number | null;
  /** Each node's entry cache (`logscope node --cache-mib`); null leaves the node's default. */
  cacheMib?: number | null;
  /** Each node's scrub rate (`logscope node --scrub-mib-per-s`); null leaves the node's default. */
  scrubMibPerSec?: number | null;
  /** Where each node reads its segments (`logscope node --background-reads`); null leaves the node's default. */
  backgroundReads?: BackgroundReads | null;
  /** Each node's segment size and retention (`logscope node --segment-mib/--retention-mib/--retention-hours`); null leaves the node's defaults. */
  journal?: JournalFlags | null;
  /** A node process that exited on a corrupt record is started again (default true; see AutoRestart). */
  autoRestart?: boolean;
  /** Generated in the data dir when null. */
  secretFile: string | null;
  tls: TlsFiles | null;
  log?: (line: string) => void;
}

interface Slot {
  id: number;
  port: number;
  metricsPort: number;
  dataDir: string;
  logFile: string;
  child: ChildProcess | null;
  log: WriteStream | null;
  /** Set when the supervisor itself stopped the process (crash or shutdown), so its exit is expected. */
  stopping: boolean;
  /** How its process last ended by itself (not a crash or stop the supervisor did), until it starts again. */
  exited: NodeExit | null;
  /** The last `disk-error` line the running process printed: why it stopped, and the error's name. */
  diskError: { reason: string; kind: string | null } | null;
}

/** A node process that exited by itself, and why when it said (a disk error: a failed flush, a corrupt record read). */
export interface NodeExit {
  code: number | null;
  signal: string | null;
  reason: string | null;
}

export class Supervisor {
  private readonly slots = new Map<number, Slot>();
  private control: net.Server | null = null;
  private controlUrl = '';
  private closed = false;
  private readonly autoRestart: AutoRestart;

  private constructor(
    readonly options: SupervisorOptions,
    readonly secretFile: string,
    private readonly secret: Buffer,
  ) {
    // cluster.json carries each automatic restart, for the console's audit trail and timeline.
    this.autoRestart = new AutoRestart(options.autoRestart ?? true, Date.now, () => this.writeState());
  }

  static async start(options: SupervisorOptions): Promise<Supervisor> {
    const dataDir = resolve(options.dataDir);
    mkdirSync(dataDir, { recursive: true });
    const secretFile = options.secretFile === null ? ensureSecretFile(dataDir) : resolve(options.secretFile);
    const supervisor = new Supervisor({ ...options, dataDir }, secretFile, readClusterSecret(secretFile));
    const ports = options.basePort === null
      ? await freeListenPorts(options.host, 2 * options.nodeCount + 1)
      : Array.from({ length: 2 * options.nodeCount + 1 }, (_, i) => (options.basePort ?? 0) + i);
    for (let i = 0; i < options.nodeCount; i++) {
      const id = i + 1;
      supervisor.slots.set(id, {
        id, port: ports[i] ?? 0, metricsPort: ports[options.nodeCount + i] ?? 0,
        dataDir: join(dataDir, `node-${id}`), logFile: join(dataDir, `node-${id}.log`),
        child: null, log: null, stopping: false, exited: null, diskError: null,
      });
    }
    // No node directory yet: this start creates the cluster, and the nodes hear it from us (see
    // `logscope node --new-cluster`), so one that fails to come up does not hold the others back.
    // Never on a restart: a node found without its directory later may be a replaced disk.
    const newCluster = [...supervisor.slots.values()].every((slot) => !existsSync(slot.dataDir));
    try {
      await supervisor.serveControl(ports[2 * options.nodeCount] ?? 0);
      await Promise.all([...supervisor.slots.keys()].map((id) => supervisor.startNode(id, newCluster)));
    } catch (error) {
      await supervisor.stop();
      throw error;
    }
    supervisor.writeState();
    return supervisor;
  }

  get url(): string {
    return this.controlUrl;
  }

  nodeIds(): number[] {
    return [...this.slots.keys()];
  }

  /** A real crash: SIGKILL, no shutdown; the OS keeps what the node had written. */
  crash(id: number): void {
    const slot = this.slot(id);
    if (slot.child === null) return;
    slot.stopping = true;
    slot.child.kill('SIGKILL');
    slot.child = null;
    this.writeState();
    this.log({ event: 'node-crashed', node: id, signal: 'SIGKILL' });
  }

  /** Starts a stopped node again from its directory (recovery runs); a running node is left alone. */
  async restart(id: number): Promise<void> {
    const slot = this.slot(id);
    if (slot.child !== null) return;
    await this.startNode(id);
    this.writeState();
  }

  /** The fault "corrupt a byte" on a stopped node: the same code the node itself would run. */
  corruptSegment(id: number): { file: string; position: number } {
    const slot = this.slot(id);
    if (slot.child !== null) throw new Error(`node ${id} is running: corrupt it through its admin API, or crash it first`);
    return corruptNewestSegment(new FileDisk(slot.dataDir), id, false);
  }

  /** The fault "an older copy of the disk", first half: a stopped node's files copied aside. */
  copyDisk(id: number): DiskCopy {
    const slot = this.slot(id);
    if (slot.child !== null) throw new Error(`node ${id} is running: crash it before copying its disk (a running node's files are no crash image)`);
    return copyDiskAside(slot.dataDir);
  }

  /** Second half: the copy put back in place of a stopped node's files. */
  putBackDiskCopy(id: number): DiskCopy {
    const slot = this.slot(id);
    if (slot.child !== null) throw new Error(`node ${id} is running: crash it before putting a copy of its disk back`);
    return putBackDiskCopy(slot.dataDir);
  }

  /** The fault "cut the fsynced tail" on a stopped node's files. */
  cutSegmentTail(id: number): { file: string; cutBytes: number } {
    const slot = this.slot(id);
    if (slot.child !== null) throw new Error(`node ${id} is running: cut its tail through its admin API, or crash it first`);
    return cutNewestSegmentTail(new FileDisk(slot.dataDir), id, false);
  }

  state(): ClusterState {
    const scheme = this.options.tls === null ? 'http' : 'https';
    return {
      version: 1,
      supervisor: { pid: process.pid, url: this.controlUrl },
      secretFile: this.secretFile,
      partitionCount: this.options.partitionCount,
      replicationFactor: this.options.replicationFactor,
      journal: this.options.journal ?? null,
      tls: this.options.tls === null ? null : { certFile: resolve(this.options.tls.certFile), keyFile: resolve(this.options.tls.keyFile), caFile: resolve(this.options.tls.caFile) },
      nodes: [...this.slots.values()].map((s) => ({
        id: s.id, host: this.options.host, port: s.port, metricsUrl: `${scheme}://${urlHost(this.options.host)}:${s.metricsPort}`,
        pid: s.child?.pid ?? null, dataDir: s.dataDir, logFile: s.logFile, exited: s.exited,
      })),
      autoRestarts: [...this.autoRestart.recorded()],
    };
  }

  /** Stops every node cleanly (SIGTERM, then SIGKILL after a grace period) and the control API. */
  async stop(): Promise<void> {
    this.closed = true;
    this.autoRestart.stop();
    await Promise.all([...this.slots.values()].map((slot) => new Promise<void>((done) => {
      const child = slot.child;
      if (child === null) {
        done();
        return;
      }
      slot.stopping = true;
      const timer = setTimeout(() => child.kill('SIGKILL'), NODE_STOP_TIMEOUT_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        done();
      });
      child.kill('SIGTERM');
    })));
    for (const slot of this.slots.values()) slot.child = null;
    await new Promise<void>((done) => (this.control === null ? done() : this.control.close(() => done())));
  }

  private slot(id: number): Slot {
    const slot = this.slots.get(id);
    if (slot === undefined) throw new Error(`no node ${id} (nodes: ${this.nodeIds().join(', ')})`);
    return slot;
  }

  private get peersArg(): string {
    return [...this.slots.values()].map((s) => `${s.id}=${this.options.host}:${s.port}`).join(',');
  }

  private startNode(id: number, newCluster = false): Promise<void> {
    const slot = this.slot(id);
    const o = this.options;
    const args = [
      ...nodeProcessV8Flags(this.slots.size),
      ...nodeEntryArgs(), '--id', String(id), '--peers', this.peersArg, '--data-dir', slot.dataDir,
      '--partitions', String(o.partitionCount), '--replication-factor', String(o.replicationFactor),
      '--host', o.host, '--metrics-host', o.host, '--metrics-port', String(slot.metricsPort),
      '--cluster-secret-file', this.secretFile,
      ...(o.cacheMib === null || o.cacheMib === undefined ? [] : ['--cache-mib', String(o.cacheMib)]),
      ...(o.scrubMibPerSec === null || o.scrubMibPerSec === undefined ? [] : ['--scrub-mib-per-s', String(o.scrubMibPerSec)]),
      ...(o.backgroundReads === null || o.backgroundReads === undefined ? [] : ['--background-reads', o.backgroundReads]),
      ...(o.journal === null || o.journal === undefined ? [] : ['--segment-mib', String(o.journal.segmentMib), '--retention-mib', String(o.journal.retentionMib), '--retention-hours', String(o.journal.retentionHours)]),
      ...(o.tls === null ? [] : ['--tls-cert', o.tls.certFile, '--tls-key', o.tls.keyFile, '--tls-ca', o.tls.caFile]),
      ...(newCluster ? ['--new-cluster'] : []),
    ];
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: nodeProcessEnv() });
    slot.child = child;
    slot.stopping = false;
    slot.exited = null;
    slot.diskError = null;
    slot.log ??= createWriteStream(slot.logFile, { flags: 'a' });
    const log = slot.log;
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    this.log({ event: 'node-starting', node: id, pid: child.pid, ...(newCluster ? { newCluster: true } : {}) });
    return new Promise<void>((resolveReady, reject) => {
      let output = '';
      /** After ready: the last line's start, kept until its end comes (a line may span chunks). */
      let partial = '';
      let ready = false;
      const timer = setTimeout(() => reject(new Error(`node ${id} not ready in ${NODE_READY_TIMEOUT_MS} ms; see ${slot.logFile}`)), NODE_READY_TIMEOUT_MS);
      child.stdout?.on('data', (chunk: Buffer) => {
        // A node that stops on a disk error says why on its last line before it exits (node-command.ts).
        if (ready) {
          const lines = (partial + chunk.toString()).split('\n');
          partial = lines.pop() ?? '';
          if (partial.length > 64 << 10) partial = ''; // not a line of ours
          for (const line of lines) {
            slot.diskError = diskErrorOf(line) ?? slot.diskError;
          }
          return;
        }
        output += chunk.toString();
        if (output.includes('"node-ready"')) {
          ready = true;
          clearTimeout(timer);
          resolveReady();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (slot.child === child) slot.child = null;
        if (!ready) reject(new Error(`node ${id} exited before it was ready (${signal ?? code}); see ${slot.logFile}`));
        if (!slot.stopping && !this.closed) {
          const diskError = slot.diskError;
          const decision = diskError === null ? null : this.autoRestart.schedule(id, diskError.kind, diskError.reason, async () => {
            if (slot.child !== null) return; // restarted by hand meanwhile
            this.log({ event: 'node-restarting', node: id, reason: diskError.reason, note: 'recovery drops the corrupt record\'s partition from there (the other partitions keep their records); its leader sends the rest again' });
            await this.restart(id).catch((error: unknown) => {
              this.log({ event: 'node-restart-failed', node: id, error: error instanceof Error ? error.message : String(error) });
              throw error;
            });
          });
          const note = decision?.note ?? 'not restarted until told (logscope cluster restart, or the console)';
          slot.exited = { code, signal, reason: diskError === null ? null : `${diskError.reason}; ${note}` };
          this.log({ event: 'node-exited', node: id, code, signal, reason: diskError?.reason ?? null, note });
          this.writeState();
        }
      });
    });
  }

  private writeState(): void {
    if (this.closed) return;
    writeClusterState(this.options.dataDir, this.state());
  }

  private log(event: Record<string, unknown>): void {
    (this.options.log ?? ((line: string) => process.stdout.write(line + '\n')))(JSON.stringify({ tMs: Date.now(), ...event }));
  }

  private async serveControl(port: number): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      void this.handleControl(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { ok: false, error: { code: 'Internal', message: String(error) } });
      });
    };
    const tls = this.options.tls === null ? null : loadTls(this.options.tls);
    const server = tls === null ? createHttpServer(handler) : createHttpsServer({ cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true }, handler);
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(port, this.options.host, () => resolveListen());
    });
    this.control = server;
    this.controlUrl = `${tls === null ? 'http' : 'https'}://${urlHost(this.options.host)}:${(server.address() as net.AddressInfo).port}`;
  }

  private async perform(call: SupervisorCall, node: number): Promise<unknown> {
    switch (call) {
      case 'crash':
        this.crash(node);
        return null;
      case 'restart':
        await this.restart(node);
        return null;
      case 'corruptSegment':
        return this.corruptSegment(node);
      case 'cutSegmentTail':
        return this.cutSegmentTail(node);
      case 'copyDisk':
        return this.copyDisk(node);
      case 'putBackDiskCopy':
        return this.putBackDiskCopy(node);
    }
  }

  private async handleControl(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://supervisor.invalid');
    const call = url.pathname.startsWith(SUPERVISOR_PREFIX) ? url.pathname.slice(SUPERVISOR_PREFIX.length) : '';
    const header = req.headers.authorization;
    const presented = header?.startsWith('Bearer ') === true ? header.slice('Bearer '.length) : undefined;
    const remote = req.socket.remoteAddress ?? '?';
    if (!secretMatches(this.secret, presented)) {
      this.log({ event: 'control', call, status: 401, outcome: presented === undefined ? 'refused: missing cluster secret' : 'refused: wrong cluster secret', remote });
      sendJson(res, 401, { ok: false, error: { code: 'Unauthorized', message: presented === undefined ? 'missing cluster secret' : 'wrong cluster secret' } });
      req.resume();
      return;
    }
    if (call === 'state' && req.method === 'GET') {
      sendJson(res, 200, this.state());
      return;
    }
    if (req.method !== 'POST' || !isSupervisorCall(call)) {
      sendJson(res, 404, { ok: false, error: { code: 'NotFound', message: `calls: GET state; POST ${SUPERVISOR_CALLS.join(', ')} with {"node": N}` } });
      return;
    }
    let node: number;
    try {
      const body = await readBody(req);
      const parsed = JSON.parse(body === '' ? '{}' : body) as { node?: unknown };
      if (typeof parsed.node !== 'number' || !this.slots.has(parsed.node)) throw new Error(`node must be one of ${this.nodeIds().join(', ')}`);
      node = parsed.node;
    } catch (error) {
      sendJson(res, 400, { ok: false, error: { code: 'BadRequest', message: (error as Error).message } });
      return;
    }
    try {
      const result = await this.perform(call, node);
      this.log({ event: 'control', call, node, status: 200, outcome: 'ok', remote });
      sendJson(res, 200, { ok: true, result });
    } catch (error) {
      this.log({ event: 'control', call, node, status: 409, outcome: `failed: ${(error as Error).message}`, remote });
      sendJson(res, 409, { ok: false, error: { code: 'Unavailable', message: (error as Error).message } });
    }
  }
}

function ensureSecretFile(dataDir: string): string {
  const file = join(dataDir, 'cluster.secret');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  return file;
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolveBody, reject) => {
    let text = '';
    req.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (text.length > CONTROL_BODY_BYTES_MAX) {
        reject(new Error('body too large'));
        req.destroy();
      }
    });
    req.on('end', () => resolveBody(text));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** A node's `disk-error` line (node-command.ts): why it stopped, and the error's name. */
function diskErrorOf(line: string): { reason: string; kind: string | null } | null {
  if (!line.includes('"disk-error"')) return null;
  try {
    const event = JSON.parse(line) as { event?: unknown; error?: unknown; kind?: unknown };
    if (event.event !== 'disk-error' || typeof event.error !== 'string') return null;
    return { reason: `disk error: ${event.error}`, kind: typeof event.kind === 'string' ? event.kind : null };
  } catch {
    return null; // another process's text that mentions it
  }
}
