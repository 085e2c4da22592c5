// The drill engine: one drill at a time per cluster, guided (the operator runs each step) or
// unattended. Actions go through the fault surface; checks read engine state directly (leaders,
// replica lag, recovery reports, per-node fsync histograms, the load generator's latency) and are
// polled until they pass or their deadline passes. The run ends by healing every fault, reading
// back every acknowledged write (the durability verdict) and persisting the report.

import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergeEncoded, summary } from '@logscope/telemetry';
import { recordDigest, type AckLedger, type LedgerEntry } from '../load/ledger.ts';
import type { LeaderBalancer } from '../faults/leader-balancer.ts';
import type { ClusterHandle } from '../services.ts';
import { BUILTIN_DRILLS, findDrill } from './builtin.ts';
import type { DrillAction, DrillCheck, DrillDefinition, DrillRun, LatencyFigure, NodeRef, RunMode, StepState, TimelineEvent } from './model.ts';
import { ConsistencyReader, type ReaderClient } from './reader.ts';
import { checkDurability, type ReadBackClient } from './verdict.ts';

// ---- what the engine needs of the cluster and the load generator (EmbeddedCluster / LoadGenerator fit) ----

export interface DrillReplica {
  readonly isLeader: boolean;
  readonly hw: number;
  followerLag(): { replica: number; lagRecords: number | null; lagSeconds: number | null; inSync: boolean }[];
}
export interface DrillNode {
  readonly isRunning: boolean;
  /** Wall-clock start of this incarnation (ms): later than a step's action means it restarted since. */
  readonly startedAtMs: number;
  readonly recovery: {
    readonly corruption: { readonly file: string; readonly position: number } | null;
    readonly faulty: readonly { readonly partition: number; readonly tail: { readonly firstIndex: number; readonly lastIndex: number } }[];
  };
  readonly diskFull: boolean;
  /** The peer that found the node's disk put back to an older copy since it started (null: none). */
  readonly diskRolledBackBy: number | null;
  diskFreeBytes(): number;
  replica(partition: number): DrillReplica | undefined;
}
export interface DrillClient extends ReadBackClient, ReaderClient {
  append(target: { partition: number }, records: Uint8Array[]): Promise<{ partition: number; offsets: readonly number[] }>;
  close(): void;
}
export interface DrillCluster extends ClusterHandle {
  node(id: number): DrillNode | null;
  telemetry(id: number): { histogramsJson(sinceMs?: number): { windows: readonly { metric: string; partition: number | null; startMs: number; endMs: number; encoded: string }[] } };
  client(options?: { appendTimeoutMs?: number; attemptTimeoutMs?: number }): DrillClient;
  waitForLeaders(timeoutMs?: number): Promise<boolean>;
  /**
   * Node processes (cluster/remote-cluster.ts): resolves once the accessors above reflect every
   * action so far (they answer from a polled status). The embedded cluster's are exact already.
   */
  settled?(): Promise<void>;
}
export interface DrillLoad {
  readonly ledger: AckLedger;
  readonly latency: { windows(sinceMs?: number): { startMs: number; endMs: number; encoded: string }[] };
  readonly running: boolean;
  start(): void;
  status(): { acked: number; failed: number; lastError: string | null; ratePerSec: number };
  configure(change: { ratePerSec?: number }): void;
}

export function isDrillCluster(c: unknown): c is DrillCluster {
  const x = c as Partial<DrillCluster> | null;
  return x !== null && typeof x === 'object' && typeof x.node === 'function' && typeof x.telemetry === 'function' && typeof x.client === 'function' && typeof x.waitForLeaders === 'function';
}

export class DrillError extends Error {
  constructor(readonly code: 'BAD_REQUEST' | 'CONFLICT' | 'NOT_FOUND' | 'PRECONDITION_FAILED', message: string) {
    super(message);
  }
}

export interface DrillEngineOptions {
  cluster: DrillCluster;
  load: DrillLoad | null;
  /** Runs are persisted under <dataDir>/drills. */
  dataDir: string;
  /** Check polling period (default 50 ms). */
  pollMs?: number;
  /** A guided run waiting this long for the operator's next step is aborted (and healed). Default DRILL_IDLE_ABORT_MS. */
  idleAbortMs?: number;
  /** The client p99 SLO: a baseline far above it means the cluster is not healthy enough to start. */
  sloP99Ms?: number;
  /** How long start() waits for the cluster to become healthy before refusing (default START_HEALTH_WAIT_MS). */
  healthWaitMs?: number;
  /** Leadership placement: drains for the drills that ask for one, held returns while a drill runs. */
  balancer?: DrillBalancer | null;
  /** How long a node the drill did not target must stay down before it stops the drill (default STOP_DOWN_MS). */
  stopDownMs?: number;
}

/**
 * A node the drill did not target stops the drill once it has been down this long. The attached
 * console's view of a node can read down for a moment while the node runs on (on CI, a node read
 * as down for one look at a drill's start, with no process exit, and aborted it); a real crash
 * stays down far longer (a supervisor restarts a process a second later at the earliest).
 */
export const STOP_DOWN_MS = 1_000;

/** What a drill needs of the leader balancer (faults/leader-balancer.ts). */
export type DrillBalancer = Pick<LeaderBalancer, 'drain' | 'undrain' | 'hold' | 'preferredLeaders' | 'drainPlan' | 'isDrained'>;

/** Default idle limit of a guided run: nobody is watching a drill left this long. */
export const DRILL_IDLE_ABORT_MS = 10 * 60_000;
export const DRILL_IDLE_ABORT_MS_MIN = 1_000;
/** start() waits up to this long for a settling cluster (a node that just restarted) before refusing. */
export const START_HEALTH_WAIT_MS = 10_000;
/**
 * A baseline is unsettled when its steady client p99 over the last 10 s is above SLO × this factor
 * AND above UNSETTLED_P99_FACTOR × the minute before it: a node that just restarted, not a
 * machine that is slow all the time (which no waiting would fix).
 */
export const UNHEALTHY_P99_SLO_FACTOR = 4;
export const UNSETTLED_P99_FACTOR = 3;
const DEFAULT_SLO_P99_MS = 50;
const WATCH_INTERVAL_MS = 100;

interface Eval {
  pass: boolean;
  figure: string;
  reason: string;
}

interface Active {
  run: DrillRun;
  def: DrillDefinition;
  aborted: boolean;
  abortReason: string;
  checking: Promise<void> | null;
  done: Promise<DrillRun>;
  resolveDone: (run: DrillRun) => void;
  finishing: Promise<void> | null;
  ledgerStart: number;
  probeAcks: LedgerEntry[];
  /** Every node's high watermark per partition just before the fault step's action. */
  faultHw: Map<number, Map<number, number>>;
  faultAtMs: number | null;
  /** Per step: partitions whose lag was seen at zero (caughtUp). */
  zeroSeen: Set<number>;
  /** The victim's start time as its own clock gave it when the rot step acted (restartedByItself). */
  victimStartedAtMs: number | null;
  watcher: NodeJS.Timeout | null;
  loadRateBefore: number | null;
  probe: DrillClient | null;
  /** Reads acknowledged offsets during the run: stale reads and read failover. */
  reader: ConsistencyReader | null;
  /** Guided: since when the run waits for the operator's next step (null while a step runs or is checked). */
  idleSinceMs: number | null;
  /** Guided: a background evaluation of the next observe-only step's check, so its figure is the system's time, not the operator's. */
  precheck: { index: number; stop: boolean } | null;
  /** Nodes the drill drained: undrained when it heals or ends. */
  drained: Set<number>;
  /** Ends the drill's hold on the automatic return of restarted nodes. */
  releaseHold: (() => void) | null;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** Who a drill's drain belongs to (LeaderBalancer.drain): a node the console drained too stays drained after the drill. */
const drillOwner = (active: Active): string => `drill run ${active.run.id}`;
const fmtMs = (v: number): string => (v < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(2)} s`);
const fmtMiB = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const RECENT_RUNS = 50;

export class DrillEngine {
  private readonly cluster: DrillCluster;
  private readonly load: DrillLoad | null;
  private readonly dir: string;
  private readonly pollMs: number;
  private readonly idleAbortMs: number;
  private readonly stopDownMs: number;
  private readonly sloP99Ms: number;
  private readonly healthWaitMs: number;
  private readonly balancer: DrillBalancer | null;
  private readonly runs = new Map<string, DrillRun>();
  private active: Active | null = null;
  private closed = false;

  constructor(options: DrillEngineOptions) {
    this.cluster = options.cluster;
    this.load = options.load;
    this.pollMs = options.pollMs ?? 50;
    this.idleAbortMs = Math.max(DRILL_IDLE_ABORT_MS_MIN, options.idleAbortMs ?? DRILL_IDLE_ABORT_MS);
    this.stopDownMs = options.stopDownMs ?? STOP_DOWN_MS;
    this.sloP99Ms = options.sloP99Ms ?? DEFAULT_SLO_P99_MS;
    this.healthWaitMs = options.healthWaitMs ?? START_HEALTH_WAIT_MS;
    this.balancer = options.balancer ?? null;
    this.dir = join(options.dataDir, 'drills');
    mkdirSync(this.dir, { recursive: true });
    for (const file of readdirSync(this.dir).filter((f) => f.endsWith('.json')).sort()) {
      try {
        const run = JSON.parse(readFileSync(join(this.dir, file), 'utf8')) as DrillRun;
        if (run.status === 'running') {
          // The server stopped mid-drill; shutdown healed its faults.
          run.status = 'interrupted';
          run.outcome = 'the server stopped during the drill (its faults were healed on shutdown)';
          run.endedMs ??= Date.now();
          for (const s of run.steps) if (s.status === 'pending' || s.status === 'acting' || s.status === 'waiting') s.status = 'skipped';
          this.persist(run);
        }
        this.runs.set(run.id, run);
      } catch {
        // An unreadable file is skipped, never fatal.
      }
    }
  }

  definitions(): readonly DrillDefinition[] {
    return BUILTIN_DRILLS;
  }

  /** Every drill with its newest run. */
  list(): { drill: DrillDefinition; lastRun: DrillRun | null }[] {
    return BUILTIN_DRILLS.map((drill) => ({ drill, lastRun: this.recent().find((r) => r.drill === drill.name) ?? null }));
  }

  /** Newest first. */
  recent(limit = RECENT_RUNS): DrillRun[] {
    return [...this.runs.values()].sort((a, b) => b.startedMs - a.startedMs).slice(0, limit);
  }

  get(id: string): DrillRun | null {
    return this.runs.get(id) ?? null;
  }

  current(): DrillRun | null {
    return this.active?.run ?? null;
  }

  async start(name: string, mode: RunMode, options: { force?: boolean } = {}): Promise<DrillRun> {
    if (this.closed) throw new DrillError('PRECONDITION_FAILED', 'the drill engine is shut down');
    const def = findDrill(name);
    if (def === undefined) throw new DrillError('NOT_FOUND', `no drill named "${name}" (drills: ${BUILTIN_DRILLS.map((d) => d.name).join(', ')})`);
    if (this.active !== null) throw new DrillError('CONFLICT', `drill "${this.active.run.drill}" (run ${this.active.run.id}) is running: one drill at a time; abort it first`);
    // A drill measured from an unhealthy baseline proves nothing: wait for a settling cluster, then refuse unless forced.
    const problems = await this.waitHealthy(options.force === true ? 0 : this.healthWaitMs);
    if (problems.length > 0 && options.force !== true) throw new DrillError('PRECONDITION_FAILED', `the cluster is not healthy: ${problems.join('; ')}. Heal it first, or start with force`);
    if (this.active !== null) throw new DrillError('CONFLICT', 'another drill started meanwhile');

    const now = Date.now();
    const partition = this.busiestPartition();
    let resolveDone!: (run: DrillRun) => void;
    const done = new Promise<DrillRun>((resolve) => (resolveDone = resolve));
    const run: DrillRun = {
      id: `${new Date(now).toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${name}-${randomBytes(3).toString('hex')}`,
      drill: def.name,
      title: def.title,
      mode,
      status: 'running',
      startedMs: now,
      endedMs: null,
      partition,
      bindings: {},
      steps: def.steps.map((s, index): StepState => ({ index, title: s.title, status: 'pending', actionAtMs: null, resolvedAtMs: null, did: null, figure: null, reason: null })),
      nextStep: 0,
      timeline: [],
      detectMs: null,
      recoverMs: null,
      recoverLabel: def.recover.label,
      readRecoverMs: null,
      latency: { before: this.clientLatency(now - 10_000, now), during: null, steadyP99Ms: this.steadyP99(now - 10_000, now) },
      verdict: null,
      outcome: null,
    };
    const active: Active = {
      run, def, aborted: false, abortReason: '', checking: null, done, resolveDone, finishing: null,
      ledgerStart: this.load?.ledger.size ?? 0, probeAcks: [], faultHw: new Map(), faultAtMs: null, zeroSeen: new Set(), victimStartedAtMs: null,
      watcher: null, loadRateBefore: null, probe: null, reader: null, idleSinceMs: mode === 'guided' ? now : null, precheck: null,
      drained: new Set(), releaseHold: null,
    };
    // Only the drill's own steps move leadership while it runs: a node it restarts is handed its
    // leaderships back when the drill has ended, not in the middle of its checks.
    active.releaseHold = this.balancer?.hold(`drill "${def.title}" running`) ?? null;
    run.target = this.targetPreview(def, partition);
    run.idleAbortMs = mode === 'guided' ? this.idleAbortMs : null;
    this.active = active;
    this.event(active, 'run', `${mode} run of "${def.title}" started; partition under test: ${partition} (leader node ${this.cluster.leaderOf(partition)}); ${run.target}`);
    if (problems.length > 0) this.event(active, 'run', `started by force on an unhealthy cluster: ${problems.join('; ')}`);
    if (this.load !== null && !this.load.running) {
      this.load.start();
      this.event(active, 'run', 'started the load generator (a drill needs acknowledged writes to check)');
    }
    this.startWatcher(active);
    active.reader = new ConsistencyReader(this.cluster.client({ appendTimeoutMs: 5_000, attemptTimeoutMs: 1_000 }), () => this.latestAcked(active), partition);
    active.reader.start();
    this.persist(run);
    if (mode === 'unattended') void this.unattended(active);
    return structuredClone(run);
  }

  /** Guided: runs step `index` (it must be the next one); resolves once its action is applied, the check keeps running. */
  async runStep(index: number): Promise<DrillRun> {
    const active = this.active;
    if (active === null) throw new DrillError('PRECONDITION_FAILED', 'no drill is running; start one first');
    if (active.run.mode !== 'guided') throw new DrillError('BAD_REQUEST', 'this run is unattended: its steps run by themselves');
    if (active.checking !== null) throw new DrillError('CONFLICT', `step ${active.run.nextStep} is still being checked; wait for it to pass or fail`);
    if (active.finishing !== null) throw new DrillError('CONFLICT', 'the run is finishing');
    if (index !== active.run.nextStep) throw new DrillError('BAD_REQUEST', `step ${index + 1} is not next: run step ${active.run.nextStep + 1} first`);
    active.idleSinceMs = null;
    this.stopPrecheck(active);
    const acted = await this.act(active, index);
    active.checking = (async () => {
      const passed = acted && (await this.check(active, index));
      active.checking = null;
      if (!passed || index === active.def.steps.length - 1) await this.finish(active);
      else if (!active.aborted) {
        active.idleSinceMs = Date.now();
        this.startPrecheck(active, index + 1);
      }
    })();
    return structuredClone(active.run);
  }

  /** Stops the running drill at whatever step it is, heals every fault, and reports. */
  async abort(reason = 'aborted by the operator'): Promise<DrillRun> {
    const active = this.active;
    if (active === null) throw new DrillError('PRECONDITION_FAILED', 'no drill is running');
    active.aborted = true;
    active.abortReason = reason;
    this.event(active, 'run', `abort: ${reason}`);
    await active.checking;
    await this.finish(active);
    return structuredClone(await active.done);
  }

  /** Resolves with the run once it has ended. */
  async wait(id: string): Promise<DrillRun> {
    if (this.active?.run.id === id) return structuredClone(await this.active.done);
    const run = this.runs.get(id);
    if (run === undefined) throw new DrillError('NOT_FOUND', `no run ${id}`);
    return structuredClone(run);
  }

  /** Server shutdown: abort (and so heal) a running drill. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.active !== null) await this.abort('the server is shutting down');
  }

  // ---- running ----

  private async unattended(active: Active): Promise<void> {
    for (let i = 0; i < active.def.steps.length && !active.aborted; i++) {
      const acted = await this.act(active, i);
      if (!acted || !(await this.check(active, i))) break;
    }
    if (active.finishing === null) await this.finish(active);
  }

  private async act(active: Active, index: number): Promise<boolean> {
    const step = active.def.steps[index];
    const state = active.run.steps[index];
    if (step === undefined || state === undefined) return false;
    active.run.nextStep = index + 1;
    state.status = 'acting';
    const atMs = Date.now();
    state.actionAtMs = atMs;
    active.zeroSeen = new Set();
    if (index === active.def.faultStep) {
      active.faultHw = this.hwSnapshot();
      active.faultAtMs = atMs;
      active.reader?.markFault(atMs);
    }
    try {
      state.did = await this.perform(active, step.action);
      if (index === active.def.faultStep && this.cluster.settled !== undefined) {
        // A polled snapshot from before the action trails commits made before the fault took
        // effect in every process; the high watermarks read once it has are the bound to check.
        await this.cluster.settled();
        active.faultHw = this.hwSnapshot();
      }
      this.event(active, 'action', `step ${index + 1} "${step.title}": ${state.did}`);
      state.status = 'waiting';
      this.persist(active.run);
      return true;
    } catch (error) {
      state.status = 'failed';
      state.resolvedAtMs = Date.now();
      state.reason = `the action failed: ${error instanceof Error ? error.message : String(error)}`;
      this.event(active, 'action', `step ${index + 1} "${step.title}" failed: ${state.reason}`);
      this.persist(active.run);
      return false;
    }
  }

  private async check(active: Active, index: number): Promise<boolean> {
    const step = active.def.steps[index];
    const state = active.run.steps[index];
    if (step === undefined || state === undefined) return false;
    // From the end of the action: restarting a node process takes seconds on its own (embedded: none).
    const deadline = Date.now() + step.check.deadlineMs;
    let last: Eval = { pass: false, figure: '', reason: 'not evaluated yet' };
    for (;;) {
      if (active.aborted) {
        state.status = 'skipped';
        state.reason = `aborted while waiting: ${last.reason}`;
        this.persist(active.run);
        return false;
      }
      try {
        last = await this.evaluate(active, step.check.spec);
      } catch (error) {
        last = { pass: false, figure: last.figure, reason: `check error: ${error instanceof Error ? error.message : String(error)}` };
      }
      state.figure = last.figure;
      if (last.pass) {
        state.status = 'passing';
        state.resolvedAtMs = Date.now();
        state.reason = last.reason;
        const observed = state.observedAtMs !== null && state.observedAtMs !== undefined ? ` (condition held since ${fmtMs(Math.max(0, state.observedAtMs - (active.run.steps[index - 1]?.actionAtMs ?? state.observedAtMs)))} after step ${index}'s action)` : '';
        this.event(active, 'check', `step ${index + 1} passed after ${fmtMs(state.resolvedAtMs - (state.actionAtMs ?? state.resolvedAtMs))}: ${last.reason}${observed}`);
        this.persist(active.run);
        return true;
      }
      if (Date.now() >= deadline) {
        state.status = 'failed';
        state.resolvedAtMs = Date.now();
        state.reason = `not within ${fmtMs(step.check.deadlineMs)}: ${last.reason}`;
        this.event(active, 'check', `step ${index + 1} failed: ${state.reason}`);
        this.persist(active.run);
        return false;
      }
      await sleep(this.pollMs);
    }
  }

  private finish(active: Active): Promise<void> {
    active.finishing ??= (async () => {
      const run = active.run;
      if (active.watcher !== null) clearInterval(active.watcher);
      this.stopPrecheck(active);
      active.idleSinceMs = null;
      for (const s of run.steps) if (s.status === 'pending' || s.status === 'acting' || s.status === 'waiting') s.status = 'skipped';
      try {
        await this.cluster.healAll();
        const undrained = await this.undrain(active);
        this.event(active, 'run', `healed every fault (network, disks, crashed nodes)${undrained.length === 0 ? '' : `; undrained node ${undrained.join(', ')}`}`);
        if (active.loadRateBefore !== null) this.load?.configure({ ratePerSec: active.loadRateBefore });
        if (!(await this.cluster.waitForLeaders(20_000))) this.event(active, 'run', 'warning: not every partition had a leader 20 s after healing');
      } catch (error) {
        this.event(active, 'run', `healing failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      this.measure(active);
      // Let the latency window covering the end of the fault close.
      await sleep(1_100);
      const during = this.duringSpan(active);
      if (during !== null) run.latency.during = this.clientLatency(during.fromMs, during.toMs);
      const reads = (await active.reader?.stop()) ?? { readsChecked: 0, staleReads: 0, examples: [] };
      run.readRecoverMs = active.reader?.readFailoverMs ?? null;
      if (run.readRecoverMs !== null) this.event(active, 'leader', `partition ${run.partition}: first read answered ${fmtMs(run.readRecoverMs)} after the fault (read failover)`);
      try {
        const writes = await this.verdict(active);
        run.verdict = { ...writes, readsChecked: reads.readsChecked, staleReads: reads.staleReads, examples: [...writes.examples, ...reads.examples] };
        const deleted = run.verdict.deletedByRetention ?? 0;
        this.event(active, 'verdict', `${run.verdict.checked} acknowledged writes read back: ${run.verdict.lost} lost, ${run.verdict.duplicated} duplicated, ${run.verdict.misplaced} misplaced${deleted > 0 ? `, ${deleted} deleted by retention before the read-back` : ''}; ${run.verdict.readsChecked} reads of acknowledged offsets during the drill: ${run.verdict.staleReads} stale`);
      } catch (error) {
        this.event(active, 'verdict', `read-back failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      active.probe?.close();
      const failedStep = run.steps.find((s) => s.status === 'failed');
      const v = run.verdict;
      if (active.aborted) {
        run.status = 'aborted';
        run.outcome = `${active.abortReason}; faults healed${v ? `; ${v.lost} acknowledged writes lost` : ''}`;
      } else if (failedStep !== undefined) {
        run.status = 'failed';
        run.outcome = `step ${failedStep.index + 1} "${failedStep.title}" failed: ${failedStep.reason ?? ''}`;
      } else if (v === null) {
        run.status = 'failed';
        run.outcome = 'the durability verdict could not be computed';
      } else if (v.lost > 0 || v.misplaced > 0 || v.staleReads > 0) {
        run.status = 'failed';
        run.outcome = `${v.lost} acknowledged writes lost, ${v.misplaced} misplaced, ${v.staleReads} stale reads`;
      } else {
        run.status = 'passed';
        const deleted = v.deletedByRetention ?? 0;
        run.outcome = `every check passed; ${v.checked} acknowledged writes, 0 lost${deleted > 0 ? ` (${deleted} of them deleted by retention before the read-back)` : ''}; ${v.readsChecked} reads, 0 stale`;
      }
      run.endedMs = Date.now();
      this.event(active, 'run', `${run.status}: ${run.outcome}`);
      this.persist(run);
      active.releaseHold?.();
      this.active = null;
      active.resolveDone(structuredClone(run));
    })();
    return active.finishing;
  }

  private measure(active: Active): void {
    const { def, run } = active;
    // The system's time: from the action to when the condition was first seen to hold, which for an
    // observe-only step is watched in the background, not when the operator pressed its button.
    const span = (s: { from: number; to: number }): number | null => {
      const from = run.steps[s.from]?.actionAtMs ?? null;
      const to = run.steps[s.to];
      if (from === null || to === undefined || to.status !== 'passing' || to.resolvedAtMs === null) return null;
      return Math.max(0, (to.observedAtMs ?? to.resolvedAtMs) - from);
    };
    run.detectMs = span(def.detect);
    run.recoverMs = span(def.recover);
    // Reported apart: how long the run waited for the operator between steps.
    let waitMs = 0;
    for (let i = 1; i < run.steps.length; i++) {
      const prev = run.steps[i - 1];
      const cur = run.steps[i];
      if (prev?.resolvedAtMs != null && cur?.actionAtMs != null) waitMs += Math.max(0, cur.actionAtMs - prev.resolvedAtMs);
    }
    run.operatorWaitMs = run.mode === 'guided' ? waitMs : null;
  }

  private duringSpan(active: Active): { fromMs: number; toMs: number } | null {
    if (active.faultAtMs === null) return null;
    const recovered = active.run.steps[active.def.recover.to]?.resolvedAtMs ?? null;
    return { fromMs: active.faultAtMs, toMs: recovered ?? active.run.endedMs ?? Date.now() };
  }

  /** Newest acknowledged offset per partition: the load's and the drill's own probes. */
  private latestAcked(active: Active): Map<number, number> {
    const latest = new Map(this.load?.ledger.latestOffsets() ?? []);
    for (const ack of active.probeAcks) if (ack.offset > (latest.get(ack.partition) ?? -1)) latest.set(ack.partition, ack.offset);
    return latest;
  }

  private async verdict(active: Active) {
    const entries: LedgerEntry[] = [];
    let truncated = false;
    if (this.load !== null) {
      let i = 0;
      for (const e of this.load.ledger.entries()) {
        if (i++ >= active.ledgerStart) entries.push(e);
      }
      truncated = this.load.ledger.truncated;
    }
    entries.push(...active.probeAcks);
    const client = this.cluster.client({ appendTimeoutMs: 15_000 });
    try {
      return await checkDurability(client, entries, truncated);
    } finally {
      client.close();
    }
  }

  // ---- actions ----

  private resolve(active: Active, ref: NodeRef, exclude: readonly number[] = []): number {
    const p = active.run.partition;
    if (ref === 'leader') {
      const leader = this.cluster.leaderOf(p);
      if (leader === 0) throw new Error(`partition ${p} has no leader right now`);
      return leader;
    }
    if (ref === 'follower') {
      const leader = this.cluster.leaderOf(p);
      const up = new Set(this.cluster.health().filter((h) => h.up).map((h) => h.node));
      const f = this.cluster.replicasOf(p).find((n) => n !== leader && up.has(n) && !exclude.includes(n));
      if (f === undefined) throw new Error(`partition ${p} has no live follower`);
      return f;
    }
    const bound = active.run.bindings[ref];
    if (bound === undefined) throw new Error(`no node is bound as "${ref}" yet`);
    return bound;
  }

  private bind(active: Active, refs: readonly NodeRef[], nodes: readonly number[]): void {
    const slots = ['victim', 'second'] as const;
    refs.forEach((ref, i) => {
      const slot = slots[i];
      const node = nodes[i];
      if (slot !== undefined && node !== undefined && (ref === 'leader' || ref === 'follower')) active.run.bindings[slot] = node;
    });
  }

  private async perform(active: Active, action: DrillAction): Promise<string> {
    const c = this.cluster;
    switch (action.kind) {
      case 'none':
        return action.label;
      case 'crash': {
        const nodes: number[] = [];
        for (const ref of action.nodes) nodes.push(this.resolve(active, ref, nodes));
        this.bind(active, action.nodes, nodes);
        for (const n of nodes) await c.crash(n);
        return `crashed node ${nodes.join(' and node ')}`;
      }
      case 'restart': {
        const nodes = action.nodes.map((ref) => this.resolve(active, ref));
        for (const n of nodes) await c.restart(n);
        return `restarted node ${nodes.join(' and node ')}`;
      }
      case 'isolate': {
        const n = this.resolve(active, action.node);
        this.bind(active, [action.node], [n]);
        await c.isolate(n);
        return `isolated node ${n} (every link cut)`;
      }
      case 'slowFsync': {
        const n = this.resolve(active, action.node);
        this.bind(active, [action.node], [n]);
        await c.slowFsync(n, action.delayMs);
        return `added ${action.delayMs} ms to every fsync of node ${n}`;
      }
      case 'corruptSegment': {
        const { n, result: where } = await this.whileDown(active, action.node, (n) => c.corruptSegment(n));
        return `crashed node ${n}, flipped the byte at ${where.position} of ${where.file}, restarted it`;
      }
      case 'rotSegment': {
        const n = this.resolve(active, action.node);
        this.bind(active, [action.node], [n]);
        active.victimStartedAtMs = c.node(n)?.startedAtMs ?? null;
        const where = await c.corruptSegment(n);
        const scrub = await c.startScrub(n);
        return `flipped the byte at ${where.position} of ${where.file} under running node ${n}; started a scrub pass over its ${fmtMiB(scrub.bytes)} of segments at ${fmtMiB(scrub.bytesPerSec)}/s (about ${fmtMs((scrub.bytes / scrub.bytesPerSec) * 1000)})`;
      }
      case 'cutSegmentTail': {
        const { n, result: where } = await this.whileDown(active, action.node, (n) => c.cutSegmentTail(n));
        return `crashed node ${n}, cut the last ${where.cutBytes} bytes (fdatasync'ed) of ${where.file}, restarted it`;
      }
      case 'copyDisk': {
        const { n, result: copy } = await this.whileDown(active, action.node, (n) => c.copyDisk(n));
        return `crashed node ${n}, copied its disk aside (${copy.files} files, ${fmtMiB(copy.bytes)}), restarted it`;
      }
      case 'putBackDiskCopy': {
        const { n, result: copy } = await this.whileDown(active, action.node, (n) => c.putBackDiskCopy(n));
        return `crashed node ${n}, put back the copy of its disk taken ${fmtMs(Math.max(0, Date.now() - copy.copiedAtMs))} ago (${copy.files} files, ${fmtMiB(copy.bytes)}): what it wrote since is gone from it; restarted it`;
      }
      case 'diskFull': {
        const n = this.resolve(active, action.node, Object.values(active.run.bindings));
        if (action.node === 'follower' || action.node === 'leader') active.run.bindings.second = n;
        // With its space back the node is healthy again: checks stop excluding it as a leader.
        if (!action.full && active.run.bindings.second === n) delete active.run.bindings.second;
        await c.setDiskFull(n, action.full);
        return action.full ? `filled the disk of node ${n}` : `gave node ${n} its disk space back`;
      }
      case 'load': {
        if (this.load === null) throw new Error('no load generator (attach mode)');
        active.loadRateBefore ??= this.load.status().ratePerSec;
        this.load.configure({ ratePerSec: action.ratePerSec });
        return `load set to ${action.ratePerSec} appends/s`;
      }
      case 'drain': {
        const n = this.resolve(active, action.node);
        const balancer = this.balancer;
        if (balancer === null) throw new Error('no leader balancer on this server');
        const plan = balancer.drainPlan(n);
        await balancer.drain(n, drillOwner(active));
        active.drained.add(n);
        const moving = plan.flatMap((x) => (x.to === null ? [] : [`p${x.partition}→${x.to}`]));
        return `drained node ${n}: ${moving.length === 0 ? 'it led no partition another replica could take' : `moving its leaderships away (${moving.join(', ')}), and keeping them away until undrained`}`;
      }
      case 'heal': {
        await c.healAll();
        const undrained = await this.undrain(active);
        return `healed every fault${undrained.length === 0 ? '' : `; undrained node ${undrained.join(', ')}`}`;
      }
    }
  }

  /** Crashes the node (bound as the victim), does `what` to its files, and restarts it whatever happened. */
  private async whileDown<T>(active: Active, ref: NodeRef, what: (node: number) => T | Promise<T>): Promise<{ n: number; result: T }> {
    const n = this.resolve(active, ref);
    this.bind(active, [ref], [n]);
    await this.cluster.crash(n);
    try {
      return { n, result: await what(n) };
    } finally {
      await this.cluster.restart(n);
    }
  }

  /** Undrains what the drill drained; returns those nodes. */
  private async undrain(active: Active): Promise<number[]> {
    const nodes = [...active.drained];
    active.drained.clear();
    for (const n of nodes) await this.balancer?.undrain(n, drillOwner(active));
    return nodes;
  }

  // ---- checks ----

  private async evaluate(active: Active, spec: DrillCheck): Promise<Eval> {
    const c = this.cluster;
    const p = active.run.partition;
    const victim = active.run.bindings.victim;
    const excluded = [active.run.bindings.victim, active.run.bindings.second].filter((n): n is number => n !== undefined);
    switch (spec.kind) {
      case 'none':
        return { pass: true, figure: '', reason: 'nothing to check' };
      case 'leaderMoved': {
        const leader = this.leaderExcluding(p, excluded);
        const figure = `partition ${p} leader: ${leader === 0 ? 'none' : `node ${leader}`}${victim !== undefined ? ` (was node ${victim})` : ''}`;
        return { pass: leader !== 0, figure, reason: leader !== 0 ? `node ${leader} leads partition ${p}` : `partition ${p} has no leader besides node ${victim ?? '?'}` };
      }
      case 'commitsResume': {
        const parts = spec.scope === 'partition' ? [p] : Array.from({ length: c.partitionCount }, (_, i) => i);
        const stuck: string[] = [];
        let figure = '';
        for (const q of parts) {
          const leader = this.leaderExcluding(q, excluded);
          const hw = leader === 0 ? -1 : (c.node(leader)?.replica(q)?.hw ?? -1);
          const before = this.maxHw(active.faultHw, q);
          if (q === p) figure = `partition ${p}: leader ${leader === 0 ? 'none' : `node ${leader}`}, high watermark ${hw < 0 ? '—' : hw} (${before} at the fault)`;
          if (!(hw > before)) stuck.push(`p${q}`);
        }
        if (spec.scope === 'all') figure += `; ${parts.length - stuck.length}/${parts.length} partitions committing`;
        return { pass: stuck.length === 0, figure, reason: stuck.length === 0 ? (spec.scope === 'partition' ? `the new leader committed past offset ${this.maxHw(active.faultHw, p)}` : 'every partition committed since the fault') : `no commit yet on ${stuck.join(', ')}` };
      }
      case 'lagGrows': {
        const leader = this.leaderExcluding(p, excluded);
        const lag = leader === 0 ? undefined : c.node(leader)?.replica(p)?.followerLag().find((l) => l.replica === victim);
        const records = lag?.lagRecords ?? 0;
        return { pass: records >= spec.minRecords, figure: `node ${victim ?? '?'} lag on partition ${p}: ${records} records`, reason: `node ${victim ?? '?'} is ${records} records behind on partition ${p}` };
      }
      case 'caughtUp': {
        if (victim === undefined) return { pass: false, figure: '', reason: 'no victim bound' };
        const node = c.node(victim);
        if (node === null || !node.isRunning) return { pass: false, figure: `node ${victim} is down`, reason: `node ${victim} is not running` };
        const mine = Array.from({ length: c.partitionCount }, (_, i) => i).filter((q) => c.replicasOf(q).includes(victim));
        let worst = 0;
        for (const q of mine) {
          const leader = c.leaderOf(q);
          if (leader === 0) continue;
          if (leader === victim) {
            active.zeroSeen.add(q);
            continue;
          }
          const lag = c.node(leader)?.replica(q)?.followerLag().find((l) => l.replica === victim);
          if (lag === undefined || lag.lagRecords === null) continue;
          if (lag.lagRecords === 0) active.zeroSeen.add(q);
          worst = Math.max(worst, lag.lagRecords);
        }
        const done = mine.filter((q) => active.zeroSeen.has(q)).length;
        const figure = `node ${victim}: lag back to 0 on ${done}/${mine.length} partitions (largest lag now ${worst} records)`;
        if (done < mine.length) return { pass: false, figure, reason: `node ${victim} still behind on ${mine.length - done} partitions` };
        const actedAtMs = active.run.steps.reduce((latest, st) => Math.max(latest, st.actionAtMs ?? 0), 0);
        const left = (spec.afterMs ?? 0) - (Date.now() - actedAtMs);
        if (left > 0) return { pass: false, figure: `${figure}; it keeps writing ${fmtMs(left)} more`, reason: `node ${victim} caught up; the step holds ${fmtMs(spec.afterMs ?? 0)} after its action` };
        return { pass: true, figure, reason: `node ${victim}'s lag returned to 0 on all ${mine.length} partitions` };
      }
      case 'steppedDown': {
        if (victim === undefined) return { pass: false, figure: '', reason: 'no victim bound' };
        const node = c.node(victim);
        if (node === null || !node.isRunning) return { pass: false, figure: `node ${victim} is down`, reason: `node ${victim} should still run (isolated, not crashed)` };
        const leads: number[] = [];
        const advanced: string[] = [];
        for (let q = 0; q < c.partitionCount; q++) {
          const r = node.replica(q);
          if (r === undefined) continue;
          if (r.isLeader) leads.push(q);
          // A follower may still learn of commits made before the cut, and a leader may still
          // count acknowledgements that were on their way when it was cut (their entries are on a
          // majority). Past the highest high watermark any replica had at the cut and past what the
          // majority side has committed since, the isolated node would be committing alone. (A
          // divergent commit would also acknowledge writes the majority lacks: the verdict's
          // ledger check counts those as lost.)
          const before = Math.max(this.maxHw(active.faultHw, q), this.majoritySideHw(q, victim));
          if (r.hw > before) advanced.push(`p${q} ${before}→${r.hw}`);
        }
        const figure = `node ${victim} leads ${leads.length === 0 ? 'nothing' : `partitions ${leads.join(', ')}`}; high watermarks past any at the isolation: ${advanced.length === 0 ? 'none' : advanced.join(', ')}`;
        if (advanced.length > 0) return { pass: false, figure, reason: `the isolated node advanced its commit on ${advanced.join(', ')}` };
        return { pass: leads.length === 0, figure, reason: leads.length === 0 ? `node ${victim} stepped down everywhere and committed nothing while isolated` : `node ${victim} still believes it leads ${leads.length} partitions` };
      }
      case 'appendsRefused': {
        const probe = this.probeClient(active);
        try {
          const ack = await this.probeAppend(active, probe, p);
          return { pass: false, figure: `probe append acknowledged at offset ${ack}`, reason: `an append to partition ${p} was acknowledged (offset ${ack}) although a quorum is down` };
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          if (this.load === null) return { pass: true, figure: `probe refused: ${message}`, reason: `appends fail: ${message}` };
          const before = this.load.status().acked;
          await sleep(1_000);
          const after = this.load.status();
          const acked = after.acked - before;
          const figure = `probe refused: ${message}; load acknowledged ${acked} in the last second, failed ${after.failed} in all`;
          return { pass: acked === 0, figure, reason: acked === 0 ? `appends fail with "${message}" and none was acknowledged` : `${acked} load appends were still acknowledged` };
        }
      }
      case 'serviceReturns': {
        const leaderless = Array.from({ length: c.partitionCount }, (_, i) => i).filter((q) => c.leaderOf(q) === 0);
        if (leaderless.length > 0) return { pass: false, figure: `${leaderless.length} partitions without a leader`, reason: `no leader yet for partitions ${leaderless.join(', ')}` };
        try {
          const offset = await this.probeAppend(active, this.probeClient(active), p);
          return { pass: true, figure: `every partition led; probe acknowledged at offset ${offset}`, reason: `service is back: a probe append to partition ${p} was acknowledged at offset ${offset}` };
        } catch (error) {
          return { pass: false, figure: 'every partition led; probe append failing', reason: `probe append failed: ${error instanceof Error ? error.message : String(error)}` };
        }
      }
      case 'tailRises':
      case 'tailRecovers': {
        // Since the latest action (the step being checked, or the one before an observe-only step).
        const since = active.run.steps.reduce((latest, s) => Math.max(latest, s.actionAtMs ?? 0), 0) || Date.now();
        const baseP99 = active.run.latency.steadyP99Ms;
        if (spec.kind === 'tailRises') {
          const now = this.clientLatency(since, Date.now());
          const threshold = (baseP99 ?? 0) + spec.riseMs;
          const figure = `client p99 ${now.count > 0 ? `${now.p99Ms.toFixed(1)} ms` : '—'} since the fault (baseline ${baseP99 === null ? '—' : `${baseP99.toFixed(1)} ms`})`;
          return { pass: now.count > 0 && now.p99Ms > threshold, figure, reason: `client p99 ${now.p99Ms.toFixed(1)} ms vs threshold ${threshold.toFixed(1)} ms` };
        }
        // The newest closed window that began after the action.
        const windows = this.load?.latency.windows(since).filter((w) => w.startMs >= since) ?? [];
        const last = windows[windows.length - 1];
        if (last === undefined) return { pass: false, figure: 'waiting for a full latency window', reason: 'no complete latency window since the action yet' };
        const s = summary(mergeEncoded([last.encoded]));
        const p99 = s.p99Micros / 1000;
        const threshold = Math.max((baseP99 ?? 0) * spec.factor, (baseP99 ?? 0) + spec.slackMs);
        return { pass: s.count > 0 && p99 <= threshold, figure: `client p99 ${p99.toFixed(1)} ms over the last second (baseline ${baseP99 === null ? '—' : `${baseP99.toFixed(1)} ms`})`, reason: `client p99 ${p99.toFixed(1)} ms vs threshold ${threshold.toFixed(1)} ms` };
      }
      case 'slowNodeIdentified': {
        const since = active.faultAtMs ?? active.run.startedMs;
        const perNode = c.nodeIds().map((n) => {
          const windows = c.telemetry(n).histogramsJson(since).windows.filter((w) => w.metric === 'fsync' && w.startMs >= since - 1_000);
          const s = windows.length === 0 ? null : summary(mergeEncoded(windows.map((w) => w.encoded)));
          return { node: n, p99Ms: s === null || s.count === 0 ? null : s.p99Micros / 1000 };
        });
        const known = perNode.filter((x): x is { node: number; p99Ms: number } => x.p99Ms !== null).sort((a, b) => b.p99Ms - a.p99Ms);
        const figure = `fsync p99 by node: ${perNode.map((x) => `node ${x.node} ${x.p99Ms === null ? '—' : `${x.p99Ms.toFixed(1)} ms`}`).join(', ')}`;
        const top = known[0];
        const next = known[1];
        if (top === undefined || next === undefined) return { pass: false, figure, reason: 'not enough fsync histograms yet' };
        if (top.p99Ms < 2 * next.p99Ms) return { pass: false, figure, reason: `no node stands out (node ${top.node} ${top.p99Ms.toFixed(1)} ms vs node ${next.node} ${next.p99Ms.toFixed(1)} ms)` };
        active.run.bindings.identified = top.node;
        return { pass: top.node === victim, figure, reason: `node ${top.node} has fsync p99 ${top.p99Ms.toFixed(1)} ms, the next ${next.p99Ms.toFixed(1)} ms${top.node === victim ? '' : ` — but node ${victim ?? '?'} was slowed`}` };
      }
      case 'noLeadershipOn': {
        const n = active.run.bindings[spec.node === 'identified' || spec.node === 'victim' || spec.node === 'second' ? spec.node : 'victim'];
        const led = Array.from({ length: c.partitionCount }, (_, i) => i).filter((q) => c.leaderOf(q) === n);
        const figure = `node ${n ?? '?'} leads ${led.length} partitions`;
        if (n === undefined) return { pass: false, figure, reason: 'no node bound to check' };
        if (led.length > 0) return { pass: false, figure, reason: `node ${n} still leads ${led.map((q) => `p${q}`).join(', ')}` };
        // A drained node also campaigns last, so the next election does not hand it a leadership back.
        if (this.balancer?.isDrained(n) !== true) return { pass: true, figure, reason: `node ${n} leads no partition` };
        const deferred = c.health().find((h) => h.node === n)?.campaignsDeferred === true;
        return { pass: deferred, figure, reason: deferred ? `node ${n} leads no partition, and its replicas campaign last` : `node ${n} leads no partition, but its replicas were not told to campaign last yet` };
      }
      case 'corruptionDetected': {
        const corruption = victim === undefined ? null : (c.node(victim)?.recovery.corruption ?? null);
        return corruption === null
          ? { pass: false, figure: `node ${victim ?? '?'}: no corruption reported by recovery`, reason: 'recovery reported no CRC mismatch' }
          : { pass: true, figure: `node ${victim ?? '?'}: CRC mismatch in ${corruption.file} at ${corruption.position} (logscope_recovery_corruptions_total +1)`, reason: `recovery found a CRC mismatch in ${corruption.file} at position ${corruption.position} and truncated there` };
      }
      case 'restartedByItself': {
        if (victim === undefined) return { pass: false, figure: '', reason: 'no victim bound' };
        const actedAtMs = active.run.steps.reduce((latest, st) => Math.max(latest, st.actionAtMs ?? 0), 0);
        const node = c.node(victim);
        // Compared with the start the node itself reported before, not with this server's clock: a
        // node on another machine may have a clock seconds off.
        const before = active.victimStartedAtMs;
        if (node === null || !node.isRunning) {
          const why = c.health().find((h) => h.node === victim)?.reason ?? null;
          return { pass: false, figure: `node ${victim} is down${why === null ? '' : `: ${why}`}`, reason: `node ${victim} has not come back yet` };
        }
        if (before === null || node.startedAtMs === before) return { pass: false, figure: `node ${victim} runs the incarnation it had before the rot (no bad record found yet)`, reason: `node ${victim} has not stopped on the rotted record yet` };
        const corruption = node.recovery.corruption;
        if (corruption === null) return { pass: false, figure: `node ${victim} restarted, but its recovery found no CRC mismatch`, reason: `node ${victim} restarted without its recovery finding the rotted record` };
        const after = fmtMs(Math.max(0, Date.now() - actedAtMs));
        return { pass: true, figure: `node ${victim}: stopped on the rotted record and restarted by itself (back within ${after} of the rot); its recovery cut ${corruption.file} at ${corruption.position}`, reason: `node ${victim} found the rotted record, stopped rather than serve it, restarted by itself and cut its log at ${corruption.file}:${corruption.position}, keeping the other partitions' records after it; the leader of the bad record's partition sends the rest again` };
      }
      case 'faultyTailKept': {
        const faulty = victim === undefined ? [] : (c.node(victim)?.recovery.faulty ?? []);
        if (faulty.length === 0) return { pass: false, figure: `node ${victim ?? '?'}: no faulty tail reported by recovery`, reason: 'recovery found no acknowledged entries missing' };
        const tails = faulty.map((f) => `p${f.partition} entries ${f.tail.firstIndex}–${f.tail.lastIndex}`).join(', ');
        return { pass: true, figure: `node ${victim ?? '?'}: kept as faulty (identifiers name them): ${tails}`, reason: `recovery kept ${tails} as faulty instead of cutting them as a torn write; the replica does not campaign until a leader repairs them` };
      }
      case 'rollbackTold': {
        if (victim === undefined) return { pass: false, figure: '', reason: 'no victim bound' };
        const node = c.node(victim);
        if (node === null || !node.isRunning) return { pass: false, figure: `node ${victim} is down`, reason: `node ${victim} has not come back yet` };
        // Its current incarnation started in the step's action (the put-back restarts it): a peer's word since is about this disk.
        const by = node.diskRolledBackBy;
        if (by === null) return { pass: false, figure: `node ${victim}: no peer has found its disk went back yet`, reason: `no peer told node ${victim} that its disk is older than it had told them` };
        return { pass: true, figure: `node ${victim}: node ${by} found its disk put back to an older copy (logscope_disk_rollbacks_total +1)`, reason: `node ${by} remembered node ${victim}'s disk further along than it came back, and told it: its replicas stopped voting and leading until caught up, so what it lost with the copy stays acknowledged on the others` };
      }
      case 'diskFullReported': {
        const n = active.run.bindings.second;
        const node = n === undefined ? null : c.node(n);
        if (node === null || !node.diskFull) return { pass: false, figure: `node ${n ?? '?'}: disk not reported full yet`, reason: 'the node has not reported a full disk (logscope_disk_full)' };
        try {
          const ack = await this.probeAppend(active, this.probeClient(active), p);
          return { pass: false, figure: `node ${n}: disk full (${node.diskFreeBytes()} bytes free); probe acknowledged at ${ack}`, reason: 'an append was acknowledged: the full disk does not block the quorum yet' };
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          const message = error instanceof Error ? error.message : String(error);
          const figure = `node ${n}: disk full (${node.diskFreeBytes()} bytes free); probe: ${message}`;
          return code === 'DiskFull' ? { pass: true, figure, reason: `appends fail at once with DiskFull: ${message}` } : { pass: false, figure, reason: `appends fail with ${String(code)}, not DiskFull` };
        }
      }
      case 'leadersBalanced': {
        if (this.balancer === null) return { pass: false, figure: '', reason: 'no leader balancer on this server' };
        const off = this.balancer.preferredLeaders().filter((x) => x.leader !== x.preferred);
        const figure = `${c.partitionCount - off.length}/${c.partitionCount} partitions led by their preferred replica`;
        return { pass: off.length === 0, figure, reason: off.length === 0 ? 'every partition is led by its preferred replica' : `still elsewhere: ${off.slice(0, 8).map((x) => `p${x.partition} on node ${x.leader}, prefers node ${x.preferred}`).join('; ')}` };
      }
      case 'allHealthy': {
        const down = c.health().filter((h) => !h.up).map((h) => h.node);
        const leaderless = Array.from({ length: c.partitionCount }, (_, i) => i).filter((q) => c.leaderOf(q) === 0);
        const faults = c.activeFaults().length;
        const ok = down.length === 0 && leaderless.length === 0 && faults === 0;
        const figure = `${c.nodeIds().length - down.length}/${c.nodeIds().length} nodes up, ${c.partitionCount - leaderless.length}/${c.partitionCount} partitions led, ${faults} active faults`;
        return { pass: ok, figure, reason: ok ? 'the cluster is healthy' : figure };
      }
    }
  }

  private probeClient(active: Active): DrillClient {
    active.probe ??= this.cluster.client({ appendTimeoutMs: 1_500, attemptTimeoutMs: 500 });
    return active.probe;
  }

  /** Appends one probe record; an acknowledged probe joins the verdict like any load write. */
  private async probeAppend(active: Active, client: DrillClient, partition: number): Promise<number> {
    const record = new TextEncoder().encode(`drill-probe ${active.run.id} ${Date.now()} ${randomBytes(8).toString('hex')}`);
    const result = await client.append({ partition }, [record]);
    const offset = result.offsets[0] ?? -1;
    active.probeAcks.push({ partition: result.partition, offset, digest: recordDigest(record) });
    return offset;
  }

  // ---- figures ----

  private leaderExcluding(partition: number, excluded: readonly number[]): number {
    for (const r of this.cluster.replicasOf(partition)) {
      if (excluded.includes(r)) continue;
      const node = this.cluster.node(r);
      if (node !== null && node.isRunning && node.replica(partition)?.isLeader === true) return r;
    }
    return 0;
  }

  private hwSnapshot(): Map<number, Map<number, number>> {
    const out = new Map<number, Map<number, number>>();
    for (const n of this.cluster.nodeIds()) {
      const m = new Map<number, number>();
      const node = this.cluster.node(n);
      for (let p = 0; p < this.cluster.partitionCount; p++) {
        const r = node?.replica(p);
        if (r !== undefined) m.set(p, r.hw);
      }
      out.set(n, m);
    }
    return out;
  }

  /** The highest high watermark of the partition's replicas on running nodes other than `excluded`. */
  private majoritySideHw(partition: number, excluded: number): number {
    let hw = 0;
    for (const id of this.cluster.replicasOf(partition)) {
      if (id === excluded) continue;
      const node = this.cluster.node(id);
      if (node !== null && node.isRunning) hw = Math.max(hw, node.replica(partition)?.hw ?? 0);
    }
    return hw;
  }

  private maxHw(snapshot: Map<number, Map<number, number>>, partition: number): number {
    let max = 0;
    for (const m of snapshot.values()) max = Math.max(max, m.get(partition) ?? 0);
    return max;
  }

  private busiestPartition(): number {
    let best = 0;
    let bestHw = -1;
    for (let p = 0; p < this.cluster.partitionCount; p++) {
      const hw = this.cluster.node(this.cluster.leaderOf(p))?.replica(p)?.hw ?? 0;
      if (hw > bestHw) {
        best = p;
        bestHw = hw;
      }
    }
    return best;
  }

  private clientLatency(fromMs: number, toMs: number): LatencyFigure {
    const windows = (this.load?.latency.windows(fromMs - 1_000) ?? []).filter((w) => w.endMs > fromMs && w.startMs < toMs);
    if (windows.length === 0) return { count: 0, p99Ms: 0, p999Ms: 0 };
    const s = summary(mergeEncoded(windows.map((w) => w.encoded)));
    return { count: s.count, p99Ms: s.p99Micros / 1000, p999Ms: s.p999Micros / 1000 };
  }

  /** Median of per-window p99s: a steady-state figure a recent spike (an earlier drill) does not skew. */
  private steadyP99(fromMs: number, toMs: number): number | null {
    const p99s = (this.load?.latency.windows(fromMs - 1_000) ?? [])
      .filter((w) => w.endMs > fromMs && w.startMs < toMs)
      .map((w) => summary(mergeEncoded([w.encoded])))
      .filter((s) => s.count > 0)
      .map((s) => s.p99Micros / 1000)
      .sort((a, b) => a - b);
    return p99s.length === 0 ? null : (p99s[Math.floor(p99s.length / 2)] ?? null);
  }

  // ---- guardrails ----

  /** Why the cluster is not a sound baseline right now (empty when it is). */
  healthProblems(): string[] {
    const c = this.cluster;
    const problems: string[] = [];
    const down = c.health().filter((h) => !h.up);
    if (down.length > 0) problems.push(`node ${down.map((h) => `${h.node} (${h.reason ?? 'down'})`).join(', ')} down`);
    const faults = c.activeFaults();
    if (faults.length > 0) problems.push(`active faults: ${faults.map((f) => ('node' in f ? `${f.kind} node ${f.node}` : `${f.kind} ${f.source}→${f.target}`)).join(', ')}`);
    const leaderless: number[] = [];
    const lagging: string[] = [];
    for (let p = 0; p < c.partitionCount; p++) {
      const leader = c.leaderOf(p);
      if (leader === 0) {
        leaderless.push(p);
        continue;
      }
      for (const lag of c.node(leader)?.replica(p)?.followerLag() ?? []) if (!lag.inSync) lagging.push(`p${p} node ${lag.replica}`);
    }
    if (leaderless.length > 0) problems.push(`partitions without a leader: ${leaderless.join(', ')}`);
    if (lagging.length > 0) problems.push(`replicas out of sync: ${lagging.slice(0, 8).join(', ')}${lagging.length > 8 ? '…' : ''}`);
    const now = Date.now();
    const p99 = this.steadyP99(now - 10_000, now);
    const before = this.steadyP99(now - 70_000, now - 10_000);
    // Without a minute of history there is nothing to call a spike.
    if (p99 !== null && before !== null && p99 > this.sloP99Ms * UNHEALTHY_P99_SLO_FACTOR && p99 > UNSETTLED_P99_FACTOR * before) {
      problems.push(`client p99 ${p99.toFixed(0)} ms over the last 10 s (over ${UNHEALTHY_P99_SLO_FACTOR} × the ${this.sloP99Ms} ms SLO and ${UNSETTLED_P99_FACTOR} × the ${before.toFixed(0)} ms of the minute before): the cluster is still settling`);
    }
    return problems;
  }

  private async waitHealthy(waitMs: number): Promise<string[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const problems = this.healthProblems();
      if (problems.length === 0 || Date.now() >= deadline) return problems;
      await sleep(Math.min(250, Math.max(1, deadline - Date.now())));
    }
  }

  /** Names the node step 1 will act on, as of now, so the operator knows before pressing it. */
  private targetPreview(def: DrillDefinition, partition: number): string {
    const action = def.steps[0]?.action;
    const leader = this.cluster.leaderOf(partition);
    const follower = this.cluster.replicasOf(partition).find((n) => n !== leader && this.cluster.health().some((h) => h.node === n && h.up));
    const name = (ref: NodeRef): string =>
      ref === 'leader' ? `node ${leader} (leader of partition ${partition})` : ref === 'follower' ? `node ${follower ?? '?'} (a follower of partition ${partition})` : ref;
    if (action === undefined) return 'step 1 acts on no node';
    switch (action.kind) {
      case 'crash':
      case 'restart':
        return `step 1 targets ${action.nodes.map(name).join(' and ')}`;
      case 'isolate':
      case 'slowFsync':
      case 'corruptSegment':
      case 'rotSegment':
      case 'cutSegmentTail':
      case 'copyDisk':
      case 'putBackDiskCopy':
      case 'diskFull':
      case 'drain':
        return `step 1 targets ${name(action.node)}`;
      case 'none':
      case 'load':
      case 'heal':
        return 'step 1 acts on no single node';
    }
  }

  /** Watches an observe-only step's condition before its button is pressed: it records when the system got there. */
  private startPrecheck(active: Active, index: number): void {
    const step = active.def.steps[index];
    const state = active.run.steps[index];
    if (step === undefined || state === undefined || step.action.kind !== 'none') return;
    const pre = { index, stop: false };
    active.precheck = pre;
    void (async () => {
      while (!pre.stop && !active.aborted && state.observedAtMs == null) {
        try {
          const e = await this.evaluate(active, step.check.spec);
          if (e.pass && !pre.stop) state.observedAtMs = Date.now();
        } catch {
          // The real check reports errors; the precheck only times.
        }
        await sleep(this.pollMs);
      }
    })();
  }

  private stopPrecheck(active: Active): void {
    if (active.precheck !== null) active.precheck.stop = true;
    active.precheck = null;
  }

  /** Stop conditions from the cluster's own signals (AWS FIS's alarms): a node the drill did not target goes down. */
  private stopCondition(active: Active, stayedDown: readonly number[]): string | null {
    const targets = new Set(Object.values(active.run.bindings));
    const stray = stayedDown.filter((n) => !targets.has(n));
    return stray.length === 0 ? null : `stop condition: node ${stray.join(', ')} went down although the drill did not target it (down for ${fmtMs(this.stopDownMs)})`;
  }

  private startWatcher(active: Active): void {
    const p = active.run.partition;
    let leader = this.cluster.leaderOf(p);
    let up = new Map(this.cluster.health().map((h) => [h.node, h.up] as const));
    /** Nodes that went down while watched and are still down, since when. */
    const downSinceMs = new Map<number, number>();
    let committedAfterFault = false;
    active.watcher = setInterval(() => {
      if (active.aborted || active.finishing !== null) return;
      if (active.idleSinceMs !== null && active.checking === null && Date.now() - active.idleSinceMs >= this.idleAbortMs) {
        active.idleSinceMs = null;
        void this.abort(`abandoned: no step was run for ${fmtMs(this.idleAbortMs)}, so the drill aborted itself and healed its faults`).catch(() => undefined);
        return;
      }
      const l = this.cluster.leaderOf(p);
      if (l !== leader) {
        this.event(active, 'leader', `partition ${p}: leader ${leader === 0 ? 'none' : `node ${leader}`} → ${l === 0 ? 'none' : `node ${l}`}`);
        leader = l;
      }
      if (active.faultAtMs !== null && !committedAfterFault) {
        const excluded = [active.run.bindings.victim, active.run.bindings.second].filter((n): n is number => n !== undefined);
        const l2 = this.leaderExcluding(p, excluded);
        if (l2 !== 0 && (this.cluster.node(l2)?.replica(p)?.hw ?? 0) > this.maxHw(active.faultHw, p)) {
          committedAfterFault = true;
          this.event(active, 'leader', `partition ${p}: first commit since the fault by leader node ${l2}, ${fmtMs(Date.now() - active.faultAtMs)} after it`);
        }
      }
      const now = new Map(this.cluster.health().map((h) => [h.node, h.up] as const));
      const nowMs = Date.now();
      for (const [n, isUp] of now) {
        if (up.get(n) === isUp) continue;
        this.event(active, 'node', `node ${n} ${isUp ? 'up' : 'down'}`);
        if (isUp) downSinceMs.delete(n);
        else downSinceMs.set(n, nowMs);
      }
      up = now;
      const stayedDown = [...downSinceMs].filter(([, sinceMs]) => nowMs - sinceMs >= this.stopDownMs).map(([n]) => n);
      const stop = this.stopCondition(active, stayedDown);
      if (stop !== null) void this.abort(stop).catch(() => undefined);
    }, WATCH_INTERVAL_MS);
    active.watcher.unref();
  }

  private event(active: Active, kind: TimelineEvent['kind'], text: string): void {
    active.run.timeline.push({ tMs: Date.now(), kind, text });
  }

  private persist(run: DrillRun): void {
    this.runs.set(run.id, run);
    const file = join(this.dir, `${run.id}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(run, null, 2));
    renameSync(`${file}.tmp`, file);
  }
}
