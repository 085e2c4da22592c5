// Runbook faults from the console: each one applied once (idempotency keys, and an identical
// active fault is returned rather than stacked), bounded by a time limit after which it heals
// itself, listed while active with a Heal, and healed when the server stops. A drain is a remedy,
// not a fault: on a cluster of node processes, which outlives its console, it is kept in the data
// dir and a restarted console takes it up again until its time limit (a console's upgrade must not
// hand a slow disk its leaderships back).

import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { z } from 'zod';
import type { AuditTrail } from '../auth.ts';
import type { LoadGenerator } from '../load/generator.ts';
import type { Scraper } from '../scrape/scraper.ts';
import type { ClusterHandle } from '../services.ts';
import { describeAction, isInstant, type FaultAction } from './actions.ts';
import { blastRadius, type BlastFacts, type BlastRadius } from './blast-radius.ts';
import type { LeaderBalancer } from './leader-balancer.ts';

/** Who drains a node from the Faults page (one active drain per node: identical faults are one). */
const CONSOLE_DRAIN = 'the console';
/** The longest time limit an operator may give a fault. */
export const FAULT_TIME_LIMIT_MS_MAX = 30 * 60_000;
export const FAULT_TIME_LIMIT_MS_MIN = 1_000;
/** Idempotency keys remembered (oldest forgotten first) and for how long. */
export const IDEMPOTENCY_KEYS_MAX = 1_000;
export const IDEMPOTENCY_KEY_TTL_MS = 10 * 60_000;
/** Healed faults kept for the console's "recently healed" list. */
const RECENT_MAX = 20;
/** The audit action of drains a restarted console took up again (or found ended). */
export const DRAINS_RESTORED_ACTION = 'cluster.drainsRestored';
export const DRAINS_FILE = 'drains.json';

const drainsFileSchema = z.object({
  drains: z.array(z.object({
    id: z.string().min(1).max(64),
    node: z.number().int().positive(),
    startedMs: z.number().finite(),
    expiresMs: z.number().finite(),
  })).max(1_000),
});
type KeptDrain = z.infer<typeof drainsFileSchema>['drains'][number];

export interface FaultControlOptions {
  /** Where drains are kept while the cluster outlives the console (node processes); null: healed at shutdown like any fault. */
  drainsFile?: string | null;
  /** Where a restored drain is recorded. */
  audit?: AuditTrail | null;
}

export interface OperatorFault {
  id: string;
  action: FaultAction;
  description: string;
  startedMs: number;
  /** When the time limit heals it; null for instant actions. */
  expiresMs: number | null;
  status: 'active' | 'healed';
  healedMs: number | null;
  healedBy: 'operator' | 'time limit' | 'server shutdown' | null;
  blast: BlastRadius;
}

export class FaultControlError extends Error {
  constructor(readonly code: 'PRECONDITION_FAILED' | 'NOT_FOUND' | 'BAD_REQUEST', message: string) {
    super(message);
  }
}

export class FaultControl {
  private readonly faults = new Map<string, OperatorFault>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly keys = new Map<string, { id: string; atMs: number }>();
  /** The load rate to return to when a load change heals. */
  private loadRateBefore: number | null = null;
  /** Nodes whose console isolation was healed link by link (the cluster still lists the isolation). */
  private readonly healedIsolations = new Set<number>();

  constructor(
    private readonly cluster: ClusterHandle,
    private readonly load: LoadGenerator | null,
    private readonly facts: BlastFacts = {},
    private readonly balancer: LeaderBalancer | null = null,
    private readonly options: FaultControlOptions = {},
  ) {
    this.restored = this.restoreDrains().catch((error: unknown) => console.error(`drains kept before the console's restart not taken up: ${error instanceof Error ? error.message : String(error)}`));
  }

  /** Ends once the drains kept by the console before its restart are in force again (or found ended). */
  readonly restored: Promise<void>;
  /** Writes of the drains file, one after another. */
  private keeping: Promise<void> = Promise.resolve();

  preview(action: FaultAction): { description: string; blast: BlastRadius; problems: string[] } {
    this.validate(action);
    return { description: describeAction(action), blast: blastRadius(this.cluster, action, this.facts), problems: this.problems() };
  }

  /** Why injecting now would stack on an unhealthy cluster (empty when healthy). */
  problems(): string[] {
    const out: string[] = [];
    const down = this.cluster.health().filter((h) => !h.up);
    if (down.length > 0) out.push(`node ${down.map((h) => h.node).join(', ')} down`);
    const faults = this.cluster.activeFaults();
    if (faults.length > 0) out.push(`${faults.length} fault(s) already active (${[...new Set(faults.map((f) => f.kind))].join(', ')})`);
    const leaderless = Array.from({ length: this.cluster.partitionCount }, (_, p) => p).filter((p) => this.cluster.leaderOf(p) === 0);
    if (leaderless.length > 0) out.push(`partition(s) without a leader: ${leaderless.join(', ')}`);
    return out;
  }

  /** Injections run one at a time, so a second press sees the first one's key and fault. */
  private serial: Promise<unknown> = Promise.resolve();

  inject(action: FaultAction, options: { timeLimitMs: number; idempotencyKey?: string; force?: boolean }): Promise<{ fault: OperatorFault; repeated: boolean }> {
    const next = this.serial.then(() => this.injectNow(action, options));
    this.serial = next.catch(() => undefined);
    return next;
  }

  private async injectNow(action: FaultAction, options: { timeLimitMs: number; idempotencyKey?: string; force?: boolean }): Promise<{ fault: OperatorFault; repeated: boolean }> {
    this.forgetOldKeys();
    const key = options.idempotencyKey;
    const seen = key === undefined ? undefined : this.keys.get(key);
    const earlier = seen === undefined ? undefined : this.faults.get(seen.id);
    if (earlier !== undefined) return { fault: structuredClone(earlier), repeated: true };
    // Two presses that lost their key still do one thing: an identical active fault is returned.
    const same = [...this.faults.values()].find((f) => f.status === 'active' && JSON.stringify(f.action) === JSON.stringify(action));
    if (same !== undefined) return { fault: structuredClone(same), repeated: true };
    this.validate(action);
    const problems = this.problems();
    // Remedies (load, leadership moves, a drain) are what an unhealthy cluster may need: no force asked.
    if (problems.length > 0 && options.force !== true && action.kind !== 'load' && action.kind !== 'transferLeadership' && action.kind !== 'drain') {
      throw new FaultControlError('PRECONDITION_FAILED', `the cluster is not healthy: ${problems.join('; ')}. Heal it first, or inject with force`);
    }
    const timeLimitMs = Math.min(FAULT_TIME_LIMIT_MS_MAX, Math.max(FAULT_TIME_LIMIT_MS_MIN, options.timeLimitMs));
    const blast = blastRadius(this.cluster, action, this.facts);
    await this.apply(action, timeLimitMs);
    const now = Date.now();
    const instant = isInstant(action);
    const fault: OperatorFault = {
      id: `${now.toString(36)}-${randomBytes(3).toString('hex')}`,
      action,
      description: describeAction(action),
      startedMs: now,
      expiresMs: instant ? null : now + timeLimitMs,
      status: instant ? 'healed' : 'active',
      healedMs: instant ? now : null,
      healedBy: null,
      blast,
    };
    this.faults.set(fault.id, fault);
    if (key !== undefined) this.keys.set(key, { id: fault.id, atMs: now });
    if (!instant) {
      const timer = setTimeout(() => void this.heal(fault.id, 'time limit').catch((error: unknown) => console.error(`auto-heal of ${fault.description} failed:`, error)), timeLimitMs);
      timer.unref();
      this.timers.set(fault.id, timer);
    }
    this.trimRecent();
    if (action.kind === 'drain') await this.keepDrains();
    return { fault: structuredClone(fault), repeated: false };
  }

  /** Heals one fault (healing a healed one is a no-op that returns it). */
  async heal(id: string, by: NonNullable<OperatorFault['healedBy']> = 'operator'): Promise<OperatorFault> {
    const fault = this.faults.get(id);
    if (fault === undefined) throw new FaultControlError('NOT_FOUND', `no fault ${id} (it may have been healed long ago)`);
    if (fault.status === 'healed') return structuredClone(fault);
    fault.status = 'healed';
    fault.healedMs = Date.now();
    fault.healedBy = by;
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    await this.reverse(fault.action);
    if (fault.action.kind === 'drain') await this.keepDrains();
    return structuredClone(fault);
  }

  /**
   * Everything was healed at once elsewhere (faults.healAll): the console's faults are over too.
   * The cluster knows nothing of a drain (the console's balancer holds it), so drains are undone here.
   */
  async healedElsewhere(): Promise<void> {
    for (const f of this.faults.values()) {
      if (f.status !== 'active') continue;
      f.status = 'healed';
      f.healedMs = Date.now();
      f.healedBy = 'operator';
      clearTimeout(this.timers.get(f.id));
      this.timers.delete(f.id);
      if (f.action.kind === 'drain') await this.balancer?.undrain(f.action.node, CONSOLE_DRAIN);
    }
    if (this.loadRateBefore !== null) this.load?.configure({ ratePerSec: this.loadRateBefore });
    this.loadRateBefore = null;
    await this.keepDrains();
  }

  active(): OperatorFault[] {
    return [...this.faults.values()].filter((f) => f.status === 'active').map((f) => structuredClone(f));
  }

  recent(): OperatorFault[] {
    return [...this.faults.values()].sort((a, b) => b.startedMs - a.startedMs).map((f) => structuredClone(f));
  }

  /** Server shutdown: every fault the console injected heals; drains too, unless they are kept for the next console. */
  async close(): Promise<void> {
    await this.restored;
    const keep = this.options.drainsFile !== undefined && this.options.drainsFile !== null;
    for (const f of this.active()) {
      if (keep && f.action.kind === 'drain') continue;
      await this.heal(f.id, 'server shutdown').catch(() => undefined);
    }
    await this.keeping;
  }

  /**
   * Writes the active drains (the console's own, not a drill's) to the drains file: a whole new
   * file renamed over the old one, synced first, so a crash leaves the old list or the new one.
   */
  private keepDrains(): Promise<void> {
    const file = this.options.drainsFile;
    if (file === undefined || file === null) return Promise.resolve();
    const drains: KeptDrain[] = [];
    for (const f of this.faults.values()) {
      if (f.status === 'active' && f.action.kind === 'drain' && f.expiresMs !== null) drains.push({ id: f.id, node: f.action.node, startedMs: f.startedMs, expiresMs: f.expiresMs });
    }
    const write = async (): Promise<void> => {
      const tmp = `${file}.tmp`;
      const handle = await open(tmp, 'w');
      try {
        await handle.writeFile(`${JSON.stringify({ drains })}\n`);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(tmp, file);
    };
    const next = this.keeping.then(write);
    // A failed write is reported and the next change writes again: the drain itself is in force.
    this.keeping = next.catch((error: unknown) => console.error(`drains not kept in ${file}: ${error instanceof Error ? error.message : String(error)}`));
    return this.keeping;
  }

  /** Takes up the drains the console kept before it restarted: each until its own time limit. */
  private async restoreDrains(): Promise<void> {
    const file = this.options.drainsFile;
    if (file === undefined || file === null || this.balancer === null) return;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    let kept: KeptDrain[];
    try {
      kept = drainsFileSchema.parse(JSON.parse(text)).drains;
    } catch (error) {
      // Kept aside, not lost: an operator can read what it said.
      const aside = `${file}.unreadable-${Date.now()}`;
      renameSync(file, aside);
      console.error(`drains file ${file} unreadable (${error instanceof Error ? error.message.slice(0, 200) : String(error)}); moved to ${aside}, no drain restored`);
      return;
    }
    const now = Date.now();
    const nodes = this.cluster.nodeIds();
    const restored: string[] = [];
    const ended: string[] = [];
    for (const d of kept) {
      const action: FaultAction = { kind: 'drain', node: d.node };
      if (d.expiresMs <= now || !nodes.includes(d.node)) {
        ended.push(`node ${d.node} (${nodes.includes(d.node) ? 'its time limit passed while the console was down' : 'no such node in this cluster'})`);
        continue;
      }
      const fault: OperatorFault = {
        id: d.id,
        action,
        description: describeAction(action),
        startedMs: d.startedMs,
        expiresMs: d.expiresMs,
        status: 'active',
        healedMs: null,
        healedBy: null,
        blast: withNote(blastRadius(this.cluster, action, this.facts), 'taken up again after the console restarted (its time limit unchanged)'),
      };
      this.faults.set(fault.id, fault);
      const timer = setTimeout(() => void this.heal(fault.id, 'time limit').catch((error: unknown) => console.error(`auto-heal of ${fault.description} failed:`, error)), d.expiresMs - now);
      timer.unref();
      this.timers.set(fault.id, timer);
      await this.balancer.drain(d.node, CONSOLE_DRAIN);
      restored.push(`node ${d.node} (until ${new Date(d.expiresMs).toISOString()})`);
    }
    if (ended.length > 0) await this.keepDrains();
    if (restored.length + ended.length === 0) return;
    const message = [
      restored.length > 0 ? `drains kept across the console's restart taken up again: ${restored.join(', ')}` : '',
      ended.length > 0 ? `drains not taken up: ${ended.join(', ')}` : '',
    ].filter((x) => x !== '').join('; ');
    await this.options.audit?.append({ timeMs: now, role: 'system', action: DRAINS_RESTORED_ACTION, input: { restored: restored.length, ended: ended.length }, outcome: 'ok', message })
      .catch((error: unknown) => console.error(`audit: restored drains not recorded: ${error instanceof Error ? error.message : String(error)}`));
  }

  private validate(action: FaultAction): void {
    const nodes = this.cluster.nodeIds();
    const check = (n: number): void => {
      if (!nodes.includes(n)) throw new FaultControlError('NOT_FOUND', `node ${n} does not exist (nodes: ${nodes.join(', ')})`);
    };
    if ('node' in action) check(action.node);
    if (action.kind === 'cutLink' || action.kind === 'linkDelay') {
      check(action.source);
      check(action.target);
    }
    if (action.kind === 'transferLeadership') {
      check(action.to);
      if (action.partition >= this.cluster.partitionCount) throw new FaultControlError('NOT_FOUND', `partition ${action.partition} does not exist (partitions are 0..${this.cluster.partitionCount - 1})`);
      if (!this.cluster.replicasOf(action.partition).includes(action.to)) throw new FaultControlError('BAD_REQUEST', `node ${action.to} holds no replica of partition ${action.partition} (replicas: ${this.cluster.replicasOf(action.partition).join(', ')})`);
    }
    if (action.kind === 'load' && this.load === null) throw new FaultControlError('PRECONDITION_FAILED', 'no load generator: it needs the embedded cluster');
    if (action.kind === 'drain' && this.balancer === null) throw new FaultControlError('PRECONDITION_FAILED', 'no leader balancer on this server');
  }

  private async apply(a: FaultAction, timeLimitMs: number): Promise<void> {
    const c = this.cluster;
    switch (a.kind) {
      case 'crash': return c.crash(a.node);
      case 'isolate': return c.isolate(a.node);
      case 'pause': return c.pause(a.node, timeLimitMs);
      case 'slowFsync': return c.slowFsync(a.node, a.delayMs);
      case 'cutLink': return c.cutLink(a.source, a.target, true);
      case 'linkDelay': return c.setLinkDelay(a.source, a.target, a.delayMs, 0, true);
      case 'transferLeadership': return c.transferLeadership(a.partition, a.to);
      case 'drain': return this.balancer?.drain(a.node, CONSOLE_DRAIN);
      case 'scrub': {
        await c.startScrub(a.node);
        return;
      }
      case 'load': {
        const load = this.load;
        if (load === null) return;
        this.loadRateBefore ??= load.status().ratePerSec;
        load.configure({ ratePerSec: a.ratePerSec });
        if (!load.running) load.start();
        return;
      }
    }
  }

  private async reverse(a: FaultAction): Promise<void> {
    const c = this.cluster;
    switch (a.kind) {
      case 'crash': await c.restart(a.node); break;
      case 'isolate': {
        for (const other of c.nodeIds()) if (other !== a.node) c.healLink(a.node, other, true);
        this.healedIsolations.add(a.node);
        break;
      }
      case 'pause': break; // a pause ends at its time limit by itself
      case 'slowFsync': c.slowFsync(a.node, 0); break;
      case 'cutLink': c.healLink(a.source, a.target, true); break;
      case 'linkDelay': c.setLinkDelay(a.source, a.target, 0, 0, true); break;
      case 'transferLeadership': break;
      case 'scrub': break;
      case 'drain':
        // A drill's drain of the same node is its own: the node stays drained until that ends too.
        await this.balancer?.undrain(a.node, CONSOLE_DRAIN);
        break;
      case 'load':
        if (this.loadRateBefore !== null && this.active().every((f) => f.action.kind !== 'load')) {
          this.load?.configure({ ratePerSec: this.loadRateBefore });
          this.loadRateBefore = null;
        }
        break;
    }
    // An isolation's links are healed one by one, but its record only goes with healAll: once the
    // console's last fault is healed and only such records remain, clear them.
    const rest = c.activeFaults();
    if (this.active().length === 0 && rest.length > 0 && rest.every((f) => f.kind === 'isolate' && this.healedIsolations.has(f.node))) {
      await c.healAll();
      this.healedIsolations.clear();
    }
  }

  private forgetOldKeys(): void {
    const cutoff = Date.now() - IDEMPOTENCY_KEY_TTL_MS;
    for (const [k, v] of this.keys) if (v.atMs < cutoff || this.keys.size > IDEMPOTENCY_KEYS_MAX) this.keys.delete(k);
  }

  private trimRecent(): void {
    const healed = [...this.faults.values()].filter((f) => f.status === 'healed').sort((a, b) => b.startedMs - a.startedMs);
    for (const f of healed.slice(RECENT_MAX)) this.faults.delete(f.id);
  }
}

const controls = new WeakMap<object, FaultControl>();

/**
 * Makes the server's controller now (not at its first use), with options: a server whose cluster
 * outlives it keeps drains across its restart, and must take them up again as it starts.
 */
export function openFaultControl(services: Parameters<typeof faultControlOf>[0], options: FaultControlOptions): FaultControl | null {
  if (services.cluster === null) return null;
  const existing = controls.get(services);
  if (existing !== undefined) return existing;
  const control = new FaultControl(services.cluster, services.load, factsOf(services), services.balancer ?? null, options);
  controls.set(services, control);
  return control;
}

/** One controller per server (keyed by its services); null in attach mode (no fault surface). */
export function faultControlOf(services: { cluster: ClusterHandle | null; load: LoadGenerator | null; scraper?: Scraper; balancer?: LeaderBalancer | null }): FaultControl | null {
  if (services.cluster === null) return null;
  let control = controls.get(services);
  if (control === undefined) controls.set(services, (control = new FaultControl(services.cluster, services.load, factsOf(services), services.balancer ?? null)));
  return control;
}

function withNote(blast: BlastRadius, note: string): BlastRadius {
  return { ...blast, notes: [note, ...blast.notes] };
}

function factsOf(services: { scraper?: Scraper; balancer?: LeaderBalancer | null }): BlastFacts {
  const scraper = services.scraper;
  const balancer = services.balancer ?? null;
  return {
    // A node's bytes on disk, as last scraped: how long a scrub of its log takes (0: not reported yet).
    ...(scraper === undefined ? {} : { logBytes: (node: number) => scraper.snapshots().find((s) => s.nodeId === node)?.snapshot.diskUsedBytes || null }),
    ...(balancer === null ? {} : { drainPlan: (node: number) => balancer.drainPlan(node) }),
  };
}

/** Server shutdown: heal what the console injected (only if a controller was ever made). */
export async function closeFaultControl(services: object): Promise<void> {
  await controls.get(services)?.close();
}
