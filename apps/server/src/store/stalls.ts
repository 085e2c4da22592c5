// Stall events: slow writes that overlap in time are one event, not N separate slow writes.
// A node- or disk-wide stall (a GC-like pause, a slow fsync) makes every write in flight on that
// node slow at once, and every step of each of them; the event names the node.

import type { StoredTrace } from './traces.ts';

/** Fewer overlapping slow writes than this are listed as writes, not grouped into a stall. */
export const STALL_WRITES_MIN = 3;
/** A step counts as stalled when it took at least this share of its write's total. */
export const STALLED_STEP_SHARE = 0.5;
/** "Every step stalled" when at least this share of a write's steps stalled. */
const EVERY_STEP_SHARE = 0.6;

export interface StallEvent {
  fromMs: number;
  toMs: number;
  writes: number;
  partitions: number[];
  /** The node the stall is on (the most blamed one); null when the writes disagree. */
  node: number | null;
  worstMs: number;
  /** One line: "every step stalled on node 2" or "slowest step: follower.append+fsync on node 3". */
  explanation: string;
  traceIds: string[];
}

/** The node a span ran on: a follower step names its replica, others the recording node. */
function spanNode(s: StoredTrace['spans'][number]): number {
  const replica = s.attributes['replica.id'];
  return typeof replica === 'number' ? replica : typeof replica === 'string' && /^\d+$/.test(replica) ? Number(replica) : s.nodeId;
}

function diagnose(t: StoredTrace): { node: number; everyStep: boolean; step: string } {
  const steps = t.spans.filter((s) => s.parentSpanId !== null);
  const totalMicros = Math.max(1, t.totalMicros);
  const stalled = steps.filter((s) => s.durationMicros >= STALLED_STEP_SHARE * totalMicros);
  const everyStep = steps.length > 0 && stalled.length >= EVERY_STEP_SHARE * steps.length;
  const longest = steps.reduce<StoredTrace['spans'][number] | null>((m, s) => (m === null || s.durationMicros > m.durationMicros ? s : m), null);
  // When every step stalled, the write's leader (where the steps ran) is where time stopped.
  return { node: everyStep || longest === null ? t.nodeId : spanNode(longest), everyStep, step: longest?.name ?? 'write' };
}

export function groupStalls(traces: readonly StoredTrace[]): StallEvent[] {
  const slow = traces.filter((t) => t.slow).sort((a, b) => a.startMs - b.startMs);
  const groups: StoredTrace[][] = [];
  let endMs = -Infinity;
  for (const t of slow) {
    const tEnd = t.startMs + t.totalMicros / 1000;
    const current = groups[groups.length - 1];
    if (current !== undefined && t.startMs <= endMs) {
      current.push(t);
      endMs = Math.max(endMs, tEnd);
    } else {
      groups.push([t]);
      endMs = tEnd;
    }
  }
  const events: StallEvent[] = [];
  for (const g of groups) {
    if (g.length < STALL_WRITES_MIN) continue;
    const d = g.map(diagnose);
    const votes = new Map<number, number>();
    for (const x of d) votes.set(x.node, (votes.get(x.node) ?? 0) + 1);
    const [node, count] = [...votes.entries()].sort((a, b) => b[1] - a[1])[0] ?? [0, 0];
    const agreed = count * 2 > g.length;
    const everyStep = d.filter((x) => x.everyStep && x.node === node).length * 2 > g.length;
    const steps = new Map<string, number>();
    for (const x of d) if (x.node === node) steps.set(x.step, (steps.get(x.step) ?? 0) + 1);
    const step = [...steps.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'write';
    events.push({
      fromMs: g[0]?.startMs ?? 0,
      toMs: Math.max(...g.map((t) => t.startMs + t.totalMicros / 1000)),
      writes: g.length,
      partitions: [...new Set(g.map((t) => t.partition))].sort((a, b) => a - b),
      node: agreed ? node : null,
      worstMs: Math.max(...g.map((t) => t.totalMicros / 1000)),
      explanation: !agreed ? `the writes stalled on different nodes (${[...votes.keys()].map((n) => `node ${n}`).join(', ')})` : everyStep ? `every step stalled on node ${node}` : `slowest step: ${step} on node ${node}`,
      traceIds: g.map((t) => t.traceId),
    });
  }
  return events.sort((a, b) => b.fromMs - a.fromMs);
}
