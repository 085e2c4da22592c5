import { z } from 'zod';
import { AUDIT_PAGE_MAX, type AuditEntry } from '../auth.ts';
import { AUTO_RESTART_ACTION } from '../auto-restart-audit.ts';
import { drillEngineOf } from '../drills/registry.ts';
import type { DrillRun } from '../drills/model.ts';
import { describeAction, faultActionSchema, isInstant } from '../faults/actions.ts';
import { DRAINS_RESTORED_ACTION, faultControlOf } from '../faults/control.ts';
import { REBALANCE_ACTION } from '../faults/leader-balancer.ts';
import type { Services } from '../services.ts';
import { router, viewerProcedure } from '../trpc.ts';

/** A filtered page scans at most this many entries (newest first) before it answers. */
export const AUDIT_SCAN_MAX = 20_000;
/** A drill's start may wait this long for a healthy cluster: its audit entry precedes the run. */
const DRILL_START_SLACK_MS = 15_000;

const filterSchema = z.object({
  before: z.number().int().positive().optional(),
  limit: z.number().int().min(1).max(AUDIT_PAGE_MAX).default(50),
  /** "faults", "drills", "load", … (the router of the action), or an exact procedure path. */
  action: z.string().min(1).max(100).regex(/^[A-Za-z.]+$/, 'an action is a word like "faults" or "drills.start"').optional(),
  outcome: z.enum(['ok', 'refused', 'error']).optional(),
  fromMs: z.number().int().nonnegative().optional(),
  toMs: z.number().int().nonnegative().optional(),
});

const str = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '?');
const field = (input: unknown, key: string): unknown => (input !== null && typeof input === 'object' ? (input as Record<string, unknown>)[key] : undefined);
const seconds = (ms: unknown): string => (typeof ms === 'number' ? `${Math.round(ms / 1000)} s` : '?');

function runAt(runs: readonly DrillRun[], tMs: number): DrillRun | undefined {
  return runs.find((r) => tMs >= r.startedMs - DRILL_START_SLACK_MS && tMs <= (r.endedMs ?? Date.now()) + 1_000);
}

/** The entry as an action an operator did ("crashed node 2 (drill Leader failover, step 1)"). */
export function describeEntry(e: AuditEntry, runs: readonly DrillRun[], faultDescriptions: ReadonlyMap<string, string>): { text: string; drillRunId: string | null } {
  const path = e.action.replace(/^(mutation|query|subscription):/, '');
  const input = e.input;
  const run = path.startsWith('drills.') ? runAt(runs, e.timeMs) : undefined;
  let text: string;
  switch (path) {
    case 'faults.inject': {
      const action = faultActionSchema.safeParse(field(input, 'action'));
      // An instant action (a leadership move, a scrub) has no time limit to tell.
      const limit = action.success && isInstant(action.data) ? '' : ` for at most ${seconds(field(input, 'timeLimitMs'))}`;
      text = `${action.success ? describeAction(action.data) : 'inject a fault'}${limit}${field(input, 'force') === true ? ' (forced on an unhealthy cluster)' : ''}`;
      break;
    }
    case 'faults.heal': text = `heal ${faultDescriptions.get(str(field(input, 'id'))) ?? `fault ${str(field(input, 'id'))}`}`; break;
    case 'faults.healAll': text = 'heal every fault'; break;
    case 'faults.preferredLeaders': text = 'move leadership to the preferred replicas'; break;
    case 'faults.crash': case 'faults.restart': case 'faults.isolate': case 'faults.pause': case 'faults.corruptSegment':
      text = `${path.slice('faults.'.length)} node ${str(field(input, 'node'))}`; break;
    case 'faults.startScrub': text = `start a scrub pass on node ${str(field(input, 'node'))}`; break;
    case 'faults.slowFsync': text = `slow node ${str(field(input, 'node'))}'s fsync by ${str(field(input, 'delayMs'))} ms`; break;
    case 'faults.transferLeadership': text = `move partition ${str(field(input, 'partition'))}'s leadership to node ${str(field(input, 'to'))}`; break;
    case 'drills.start': text = `start drill ${run?.title ?? str(field(input, 'name'))} (${str(field(input, 'mode') ?? 'guided')})`; break;
    case 'drills.runStep': {
      const index = Number(field(input, 'index'));
      const step = run?.steps[index];
      text = step === undefined ? `run step ${index + 1} of a drill` : `${step.did ?? step.title} (drill ${run?.title ?? '?'}, step ${index + 1})`;
      break;
    }
    case 'drills.abort': text = `abort drill ${run?.title ?? ''}`.trim(); break;
    case AUTO_RESTART_ACTION: {
      const node = str(field(input, 'node'));
      const reason = str(field(input, 'reason'));
      // Not an operator's request refused or failed: what the cluster did, and why, is the text.
      if (e.outcome === 'ok') return { text: `node ${node} restarted by itself after it stopped on ${reason}`, drillRunId: null };
      return { text: field(input, 'restarted') === true ? `node ${node}'s automatic restart failed after it stopped on ${reason}` : `node ${node} stopped on ${reason} and was left down`, drillRunId: null };
    }
    case REBALANCE_ACTION: {
      // What the cluster's console did by itself: its message names the reason, the moves and any failure.
      const moves = field(input, 'moves');
      return { text: e.message ?? `${str(field(input, 'reason'))}: ${Array.isArray(moves) ? moves.length : 0} leadership transfer(s)`, drillRunId: null };
    }
    case DRAINS_RESTORED_ACTION:
      return { text: e.message ?? 'drains kept across the console\'s restart', drillRunId: null };
    case 'load.start': text = 'start the load generator'; break;
    case 'load.stop': text = 'stop the load generator'; break;
    case 'load.configure': text = `set the load to ${str(field(input, 'ratePerSec'))} records/s`; break;
    default: text = path;
  }
  if (e.outcome === 'refused') text = `refused: ${text}`;
  else if (e.outcome === 'error') text = `failed: ${text}`;
  return { text, drillRunId: run?.id ?? null };
}

function matches(e: AuditEntry, f: z.infer<typeof filterSchema>): boolean {
  const path = e.action.replace(/^(mutation|query|subscription):/, '');
  if (f.action !== undefined && path !== f.action && !path.startsWith(`${f.action}.`)) return false;
  if (f.outcome !== undefined && e.outcome !== f.outcome) return false;
  if (f.fromMs !== undefined && e.timeMs < f.fromMs) return false;
  if (f.toMs !== undefined && e.timeMs > f.toMs) return false;
  return true;
}

function filteredPage(services: Services, f: z.infer<typeof filterSchema>) {
  const trail = services.audit;
  const found: AuditEntry[] = [];
  let cursor = f.before;
  let scanned = 0;
  let oldestScanned: number | null = null;
  for (;;) {
    const page = trail.list(cursor, AUDIT_PAGE_MAX);
    for (const e of page.entries) {
      oldestScanned = e.seq;
      scanned++;
      // Entries are newest first: past the range's start there is nothing more to find.
      if (f.fromMs !== undefined && e.timeMs < f.fromMs) return { found, nextCursor: null, total: trail.total };
      if (matches(e, f)) found.push(e);
      if (found.length >= f.limit) return { found, nextCursor: e.seq > 1 ? e.seq : null, total: trail.total };
    }
    if (page.nextCursor === null || scanned >= AUDIT_SCAN_MAX) return { found, nextCursor: page.nextCursor === null ? null : oldestScanned, total: trail.total };
    cursor = page.nextCursor;
  }
}

export const auditRouter = router({
  /** Newest first; pass `nextCursor` back as `before` for older entries. Filters: action, outcome, time. */
  list: viewerProcedure
    .input(filterSchema.default({ limit: 50 }))
    .query(({ ctx, input }) => {
      const { found, nextCursor, total } = filteredPage(ctx.services, input);
      const runs = drillEngineOf(ctx.services)?.recent(200) ?? [];
      const faults = new Map((faultControlOf(ctx.services)?.recent() ?? []).map((f) => [f.id, f.description] as const));
      return { entries: found.map((e) => ({ ...e, ...describeEntry(e, runs, faults) })), nextCursor, total };
    }),
  /** The caller's role as the server sees its token (the console checks a token as soon as it is entered). */
  whoami: viewerProcedure.query(({ ctx }) => ({ role: ctx.role, problem: ctx.role === 'operator' ? null : ctx.authProblem })),
});
