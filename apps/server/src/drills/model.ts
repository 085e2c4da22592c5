// A drill is data: typed, validated definitions. Each step has a narrative, an action (a
// fault-surface call or a load change), an observation (which chart, what shape to expect) and a
// check (a steady-state hypothesis with a deadline). Nodes are named by role, resolved when the
// step runs: the leader of the drill's partition, one of its followers, or a node an earlier
// step bound (the victim, the second victim, the node a check identified).

import { z } from 'zod';

export const nodeRefSchema = z.enum(['leader', 'follower', 'victim', 'second', 'identified']);
export type NodeRef = z.infer<typeof nodeRefSchema>;

export const actionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none'), label: z.string().min(1) }),
  /** Crashes the nodes; the first resolved node is bound as the victim, the second as `second`. */
  z.object({ kind: z.literal('crash'), nodes: z.array(nodeRefSchema).min(1).max(2) }),
  z.object({ kind: z.literal('restart'), nodes: z.array(nodeRefSchema).min(1).max(2) }),
  z.object({ kind: z.literal('isolate'), node: nodeRefSchema }),
  z.object({ kind: z.literal('slowFsync'), node: nodeRefSchema, delayMs: z.number().int().min(1).max(10_000) }),
  /** Crash, flip a byte in the node's newest segment, restart: recovery must notice. */
  z.object({ kind: z.literal('corruptSegment'), node: nodeRefSchema }),
  /** Flip a byte in the running node's newest segment and start a scrub pass on it: the scrub must find it. */
  z.object({ kind: z.literal('rotSegment'), node: nodeRefSchema }),
  /** Crash, cut the fsynced tail of the node's newest segment, restart: recovery must keep it as faulty. */
  z.object({ kind: z.literal('cutSegmentTail'), node: nodeRefSchema }),
  /** Crash, copy the node's files aside (a backup or VM snapshot of its disk), restart. */
  z.object({ kind: z.literal('copyDisk'), node: nodeRefSchema }),
  /** Crash, put that copy back in place of the node's files (its disk went back in time), restart. */
  z.object({ kind: z.literal('putBackDiskCopy'), node: nodeRefSchema }),
  /** Fills the node's disk (full) or gives the space back; a node resolved here is bound as `second`. */
  z.object({ kind: z.literal('diskFull'), node: nodeRefSchema, full: z.boolean() }),
  /** Drains the node (leader balancer): its leaderships move away and stay away until the drill heals. */
  z.object({ kind: z.literal('drain'), node: nodeRefSchema }),
  z.object({ kind: z.literal('load'), ratePerSec: z.number().int().min(1).max(50_000) }),
  /** Heals every fault the drill injected (cluster.healAll). */
  z.object({ kind: z.literal('heal') }),
]);
export type DrillAction = z.infer<typeof actionSchema>;

export const checkSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }),
  /** The drill partition has a leader other than the victim. */
  z.object({ kind: z.literal('leaderMoved') }),
  /** Commits advance past the figure at the step's action: on the drill partition or on all. */
  z.object({ kind: z.literal('commitsResume'), scope: z.enum(['partition', 'all']) }),
  /** The leader reports the victim lagging by at least minRecords on the drill partition. */
  z.object({ kind: z.literal('lagGrows'), minRecords: z.number().int().min(1) }),
  /**
   * Every partition the victim replicates has seen its lag at 0 since the step began; with
   * `afterMs`, no sooner than that after the step's action (the node keeps writing meanwhile).
   */
  z.object({ kind: z.literal('caughtUp'), afterMs: z.number().int().min(0).max(60_000).optional() }),
  /** The victim runs, leads nothing, and no high watermark of its passed the highest any replica had at the fault. */
  z.object({ kind: z.literal('steppedDown') }),
  /** A probe append fails with an error and no load append is acknowledged for a second. */
  z.object({ kind: z.literal('appendsRefused') }),
  /** Every partition has a leader and a probe append is acknowledged. */
  z.object({ kind: z.literal('serviceReturns') }),
  /** Client p99 since the action exceeds the steady-state p99 by more than riseMs. */
  z.object({ kind: z.literal('tailRises'), riseMs: z.number().min(0) }),
  /** Client p99 over the last window is at most max(baseline × factor, baseline + slackMs). */
  z.object({ kind: z.literal('tailRecovers'), factor: z.number().min(1), slackMs: z.number().min(0) }),
  /** The node with the highest fsync p99 since the action (per-node histograms) is bound as `identified`; passes when it is the victim. */
  z.object({ kind: z.literal('slowNodeIdentified') }),
  /** No partition is led by the node. */
  z.object({ kind: z.literal('noLeadershipOn'), node: nodeRefSchema }),
  /** The victim's recovery found a CRC mismatch (logscope_recovery_corruptions_total). */
  z.object({ kind: z.literal('corruptionDetected') }),
  /** The victim stopped on the rotted record and restarted by itself (nobody restarted it), and its recovery found the record. */
  z.object({ kind: z.literal('restartedByItself') }),
  /** The victim's recovery kept acknowledged entries it could not read as a faulty tail (record identifiers), not cut them. */
  z.object({ kind: z.literal('faultyTailKept') }),
  /** A peer found the victim's disk put back to an older copy (logscope_disk_rollbacks_total) after the step's action. */
  z.object({ kind: z.literal('rollbackTold') }),
  /** The `second` node reports its disk full, and a probe append fails with DiskFull naming it. */
  z.object({ kind: z.literal('diskFullReported') }),
  /** Every partition is led by its preferred replica (up, not drained): leadership spread evenly again. */
  z.object({ kind: z.literal('leadersBalanced') }),
  /** All nodes up, every partition led, no active fault. */
  z.object({ kind: z.literal('allHealthy') }),
]);
export type DrillCheck = z.infer<typeof checkSchema>;

export const chartSchema = z.enum(['overview', 'partitions', 'latency', 'replication', 'traces']);

export const stepSchema = z.object({
  title: z.string().min(1),
  narrative: z.string().min(1),
  action: actionSchema,
  observation: z.object({ chart: chartSchema, expect: z.string().min(1) }),
  check: z.object({ hypothesis: z.string().min(1), spec: checkSchema, deadlineMs: z.number().int().min(100).max(120_000) }),
});
export type DrillStep = z.infer<typeof stepSchema>;

const spanSchema = z.object({ from: z.number().int().min(0), to: z.number().int().min(0), label: z.string().min(1) });

export const drillSchema = z.object({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/),
  title: z.string().min(1),
  summary: z.string().min(1),
  steps: z.array(stepSchema).min(1),
  /** Index of the step that injects the fault (latency "during" starts at its action). */
  faultStep: z.number().int().min(0),
  /** From step `from`'s action to step `to`'s check passing. */
  detect: spanSchema,
  recover: spanSchema,
}).superRefine((d, ctx) => {
  const n = d.steps.length;
  for (const [key, v] of [['faultStep', d.faultStep], ['detect.from', d.detect.from], ['detect.to', d.detect.to], ['recover.from', d.recover.from], ['recover.to', d.recover.to]] as const) {
    if (v >= n) ctx.addIssue({ code: 'custom', message: `${key} ${v} is past the last step (${n - 1})`, path: key.split('.') });
  }
  if (d.detect.from > d.detect.to) ctx.addIssue({ code: 'custom', message: 'detect.from after detect.to', path: ['detect'] });
  if (d.recover.from > d.recover.to) ctx.addIssue({ code: 'custom', message: 'recover.from after recover.to', path: ['recover'] });
});
export type DrillDefinition = z.infer<typeof drillSchema>;

// ---- run state (what the engine persists and the console shows) ----

export type RunMode = 'guided' | 'unattended';
export type RunStatus = 'running' | 'passed' | 'failed' | 'aborted' | 'interrupted';
export type StepStatus = 'pending' | 'acting' | 'waiting' | 'passing' | 'failed' | 'skipped';

export interface StepState {
  index: number;
  title: string;
  status: StepStatus;
  actionAtMs: number | null;
  resolvedAtMs: number | null;
  /** What the action did ("crashed node 2"). */
  did: string | null;
  /** The live figure the check watches, as of its last evaluation. */
  figure: string | null;
  /** Why the check passed or failed. */
  reason: string | null;
  /** Observe-only steps: when their condition first held (watched before the operator pressed the button). */
  observedAtMs?: number | null;
}

export interface TimelineEvent {
  tMs: number;
  kind: 'run' | 'action' | 'check' | 'leader' | 'node' | 'verdict';
  text: string;
}

export interface LatencyFigure {
  count: number;
  p99Ms: number;
  p999Ms: number;
}

export interface DurabilityVerdict {
  /** Acknowledged writes checked. */
  checked: number;
  lost: number;
  duplicated: number;
  misplaced: number;
  /**
   * Acknowledged writes below their partition's log start at the read-back: retention deleted
   * them (a node keeps --retention-mib/--retention-hours of log), so they are not counted lost.
   * Absent in runs stored before it.
   */
  deletedByRetention?: number;
  ledgerTruncated: boolean;
  /** Reads during the drill of offsets acknowledged before the read began. */
  readsChecked: number;
  /** Of those, answers that missed the acknowledged record (must be 0). */
  staleReads: number;
  examples: string[];
}

export interface DrillRun {
  id: string;
  drill: string;
  title: string;
  mode: RunMode;
  status: RunStatus;
  startedMs: number;
  endedMs: number | null;
  partition: number;
  bindings: Partial<Record<'victim' | 'second' | 'identified', number>>;
  steps: StepState[];
  /** The step the operator may run next (guided); steps.length when none. */
  nextStep: number;
  timeline: TimelineEvent[];
  detectMs: number | null;
  recoverMs: number | null;
  recoverLabel: string;
  /** Fault → first read of the partition under test answered after it (read failover). */
  readRecoverMs: number | null;
  /** steadyP99Ms: the median of per-second client p99s over the 10 s before the run (what tail checks compare with). */
  latency: { before: LatencyFigure | null; during: LatencyFigure | null; steadyP99Ms: number | null };
  verdict: DurabilityVerdict | null;
  /** One line: why it passed or failed. */
  outcome: string | null;
  /** Which node step 1 acts on, named at start ("step 1 targets node 2 (leader of partition 5)"). */
  target?: string;
  /** Guided: the run aborts itself after waiting this long for the next step; null when unattended. */
  idleAbortMs?: number | null;
  /** Guided: the time spent waiting for the operator between steps (never part of detect/recover). */
  operatorWaitMs?: number | null;
}
