// Annotations for every time chart: fault windows (what was injected, by whom, when it healed;
// a node down on a disk error until it restarted by itself) and drill steps, from the audit trail
// (faults.* mutations, automatic restarts) and the drill runs (the engine
// injects through the cluster directly, so its faults appear once, with their drill).

import type { AuditEntry } from './auth.ts';
import { AUTO_RESTART_ACTION } from './auto-restart-audit.ts';
import { findDrill } from './drills/builtin.ts';
import type { DrillRun } from './drills/model.ts';
import { drillEngineOf } from './drills/registry.ts';
import type { Services } from './services.ts';

/** A fault injected this long before the range may still be open in it: look back this far. */
export const ANNOTATION_LOOKBACK_MS = 3_600_000;
/** Audit entries read at most per query (newest first). */
export const ANNOTATION_AUDIT_SCAN_MAX = 5_000;
const AUDIT_PAGE = 500;

export interface FaultWindow {
  id: string;
  source: 'audit' | 'drill';
  /** What was injected: "crash node 3", "slow fsync on node 2 (+40 ms)". */
  label: string;
  /** Who: the audit role (and seq) or the drill run. */
  by: string;
  auditSeq: number | null;
  startMs: number;
  /** null = not healed yet. */
  endMs: number | null;
  /** What healed it: "restart node 3", "heal all", "drill ended". */
  healedBy: string | null;
}

export interface DrillStepMark {
  id: string;
  tMs: number;
  label: string;
  runId: string;
}

interface Open {
  key: string;
  window: FaultWindow;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const linkKey = (a: number, b: number) => `${Math.min(a, b)}-${Math.max(a, b)}`;

/** What a successful faults.* mutation opens (key + label) or closes (keys), if anything. */
function classify(e: AuditEntry): { open?: { key: string; label: string; durationMs?: number }; close?: { keys: (k: string) => boolean; label: string } } | null {
  if (e.outcome !== 'ok' || !e.action.startsWith('mutation:faults.')) return null;
  const kind = e.action.slice('mutation:faults.'.length);
  const input = (typeof e.input === 'object' && e.input !== null ? e.input : {}) as Record<string, unknown>;
  const node = num(input['node']);
  const source = num(input['source']);
  const target = num(input['target']);
  const link = source !== null && target !== null ? linkKey(source, target) : null;
  switch (kind) {
    case 'crash': return node === null ? null : { open: { key: `node:${node}:crash`, label: `crash node ${node}` } };
    case 'restart': return node === null ? null : { close: { keys: (k) => k === `node:${node}:crash`, label: `restart node ${node}` } };
    case 'isolate': return node === null ? null : { open: { key: `node:${node}:isolate`, label: `isolate node ${node}` } };
    case 'cutLink': return link === null ? null : { open: { key: `link:${link}:cut`, label: `cut link ${source} ↔ ${target}` } };
    case 'healLink': return link === null ? null : { close: { keys: (k) => k.startsWith(`link:${link}:`), label: `heal link ${source} ↔ ${target}` } };
    case 'linkDelay': {
      if (link === null) return null;
      const delayMs = num(input['delayMs']) ?? 0;
      return delayMs > 0 ? { open: { key: `link:${link}:delay`, label: `delay link ${source} ↔ ${target} (+${delayMs} ms)` } } : { close: { keys: (k) => k === `link:${link}:delay`, label: `link ${source} ↔ ${target} delay removed` } };
    }
    case 'linkLoss': {
      if (link === null) return null;
      const rate = num(input['lossRate']) ?? 0;
      return rate > 0 ? { open: { key: `link:${link}:loss`, label: `loss on link ${source} ↔ ${target} (${Math.round(rate * 100)} %)` } } : { close: { keys: (k) => k === `link:${link}:loss`, label: `link ${source} ↔ ${target} loss removed` } };
    }
    case 'slowFsync': {
      if (node === null) return null;
      const delayMs = num(input['delayMs']) ?? 0;
      return delayMs > 0 ? { open: { key: `node:${node}:slow`, label: `slow fsync on node ${node} (+${delayMs} ms)` } } : { close: { keys: (k) => k === `node:${node}:slow`, label: `node ${node} fsync back to normal` } };
    }
    case 'pause': {
      const durationMs = num(input['durationMs']);
      return node === null || durationMs === null ? null : { open: { key: `node:${node}:pause:${e.seq}`, label: `pause node ${node} for ${durationMs} ms`, durationMs } };
    }
    case 'diskFull':
      if (node === null) return null;
      return input['full'] === true ? { open: { key: `node:${node}:disk`, label: `disk full on node ${node}` } } : { close: { keys: (k) => k === `node:${node}:disk`, label: `node ${node} disk freed` } };
    case 'corruptSegment': return node === null ? null : { open: { key: `node:${node}:corrupt:${e.seq}`, label: `corrupt a segment byte on node ${node}`, durationMs: 0 } };
    case 'transferLeadership': return { open: { key: `transfer:${e.seq}`, label: `transfer leadership of partition ${num(input['partition']) ?? '?'} to node ${num(input['to']) ?? '?'}`, durationMs: 0 } };
    case 'healAll': return { close: { keys: () => true, label: 'heal all' } };
    default: return null;
  }
}

/**
 * A node that stopped on a disk error, from its stop to its automatic restart (open while it was
 * left down: an operator's restart is a new window's business, the trail says who did it).
 */
function autoRestartWindow(e: AuditEntry): FaultWindow | null {
  if (e.action !== AUTO_RESTART_ACTION) return null;
  const input = (typeof e.input === 'object' && e.input !== null ? e.input : {}) as Record<string, unknown>;
  const node = num(input['node']);
  const stoppedAtMs = num(input['stoppedAtMs']);
  if (node === null || stoppedAtMs === null) return null;
  const reason = typeof input['reason'] === 'string' ? input['reason'] : 'a disk error';
  const restarted = e.outcome === 'ok';
  const restartedAtMs = num(input['restartedAtMs']) ?? e.timeMs;
  return {
    id: `audit-${e.seq}`,
    source: 'audit',
    label: `node ${node} stopped on ${reason}`,
    by: `the cluster by itself (audit #${e.seq})`,
    auditSeq: e.seq,
    startMs: stoppedAtMs,
    endMs: restarted ? restartedAtMs : null,
    healedBy: restarted ? 'restarted by itself' : null,
  };
}

/** Fault windows from the audit trail, oldest first. */
export function auditFaultWindows(entries: readonly AuditEntry[]): FaultWindow[] {
  const out: FaultWindow[] = [];
  let open: Open[] = [];
  for (const e of [...entries].sort((a, b) => a.seq - b.seq)) {
    const down = autoRestartWindow(e);
    if (down !== null) {
      out.push(down);
      continue;
    }
    const c = classify(e);
    if (c === null) continue;
    if (c.close) {
      const close = c.close;
      for (const o of open.filter((o) => close.keys(o.key))) {
        o.window.endMs = e.timeMs;
        o.window.healedBy = `${close.label} (${e.role}, audit #${e.seq})`;
      }
      open = open.filter((o) => !close.keys(o.key));
    }
    if (c.open) {
      // Injecting the same fault again keeps the first window open.
      if (open.some((o) => o.key === c.open?.key)) continue;
      const durationMs = c.open.durationMs;
      const window: FaultWindow = {
        id: `audit-${e.seq}`,
        source: 'audit',
        label: c.open.label,
        by: `${e.role} (audit #${e.seq})`,
        auditSeq: e.seq,
        startMs: e.timeMs,
        endMs: durationMs === undefined ? null : e.timeMs + durationMs,
        healedBy: durationMs === undefined ? null : durationMs === 0 ? 'instant' : 'ends by itself',
      };
      out.push(window);
      if (durationMs === undefined) open.push({ key: c.open.key, window });
    }
  }
  return out;
}

const HEALING_ACTIONS = new Set(['restart', 'heal']);
const FAULT_ACTIONS = new Set(['crash', 'isolate', 'slowFsync', 'corruptSegment', 'rotSegment', 'cutSegmentTail', 'putBackDiskCopy']);

/** Fault windows and step marks of one drill run; `who` names the operator from the audit trail. */
export function drillAnnotations(run: DrillRun, who: (step: number, atMs: number) => AuditEntry | undefined): { windows: FaultWindow[]; steps: DrillStepMark[] } {
  const def = findDrill(run.drill);
  const windows: FaultWindow[] = [];
  const steps: DrillStepMark[] = [];
  for (const s of run.steps) {
    if (s.actionAtMs === null) continue;
    steps.push({ id: `${run.id}-step-${s.index}`, tMs: s.actionAtMs, label: `${run.title} — step ${s.index + 1}: ${s.title}${s.did ? ` (${s.did})` : ''}`, runId: run.id });
    const kind = def?.steps[s.index]?.action.kind ?? 'none';
    if (!FAULT_ACTIONS.has(kind)) continue;
    const healer = run.steps.find((t) => t.index > s.index && t.actionAtMs !== null && HEALING_ACTIONS.has(def?.steps[t.index]?.action.kind ?? ''));
    const entry = who(s.index, s.actionAtMs);
    windows.push({
      id: `${run.id}-fault-${s.index}`,
      source: 'drill',
      label: `${run.title}: ${s.did ?? s.title}`,
      by: `${entry ? `${entry.role} (audit #${entry.seq})` : 'drill'} — drill run ${run.id}`,
      auditSeq: entry?.seq ?? null,
      startMs: s.actionAtMs,
      endMs: healer?.actionAtMs ?? run.endedMs,
      healedBy: healer ? `step ${healer.index + 1}: ${healer.title}` : run.endedMs !== null ? `drill ${run.status} (faults healed)` : null,
    });
  }
  return { windows, steps };
}

/** Audit entries newer than sinceMs, newest first, bounded. */
function recentAudit(services: Services, sinceMs: number): AuditEntry[] {
  const out: AuditEntry[] = [];
  let before: number | undefined;
  while (out.length < ANNOTATION_AUDIT_SCAN_MAX) {
    const page = services.audit.list(before, AUDIT_PAGE);
    out.push(...page.entries);
    const oldest = page.entries[page.entries.length - 1];
    if (page.nextCursor === null || oldest === undefined || oldest.timeMs < sinceMs) break;
    before = page.nextCursor;
  }
  return out.filter((e) => e.timeMs >= sinceMs);
}

/** Every fault window and drill step that overlaps [fromMs, toMs). */
export function annotations(services: Services, fromMs: number, toMs: number) {
  const audit = recentAudit(services, fromMs - ANNOTATION_LOOKBACK_MS);
  const windows = auditFaultWindows(audit);
  const steps: DrillStepMark[] = [];
  const runSteps = audit.filter((e) => e.outcome === 'ok' && (e.action === 'mutation:drills.runStep' || e.action === 'mutation:drills.start'));
  for (const run of drillEngineOf(services)?.recent() ?? []) {
    if (run.startedMs >= toMs || (run.endedMs !== null && run.endedMs < fromMs - ANNOTATION_LOOKBACK_MS)) continue;
    const who = (step: number, atMs: number) =>
      run.mode === 'guided'
        ? runSteps.find((e) => e.action === 'mutation:drills.runStep' && (e.input as { index?: unknown } | null)?.index === step && e.timeMs <= atMs + 1_000 && e.timeMs >= run.startedMs - 1_000)
        : runSteps.find((e) => e.action === 'mutation:drills.start' && Math.abs(e.timeMs - run.startedMs) < 2_000);
    const a = drillAnnotations(run, who);
    windows.push(...a.windows);
    steps.push(...a.steps);
  }
  return {
    range: { fromMs, toMs },
    windows: windows.filter((w) => w.startMs < toMs && (w.endMs === null || w.endMs >= fromMs)).sort((a, b) => a.startMs - b.startMs),
    steps: steps.filter((s) => s.tMs >= fromMs && s.tMs < toMs).sort((a, b) => a.tMs - b.tMs),
  };
}
