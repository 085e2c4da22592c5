// Drills: list, follow and export runs (viewers); start, step and abort them (operators, audited).

import { z } from 'zod';
import { BUILTIN_DRILLS, findDrill } from '../drills/builtin.ts';
import type { DrillDefinition, DrillRun } from '../drills/model.ts';
import { drillCall, drillEngineOf, requireDrillEngine } from '../drills/registry.ts';
import { reportJson, reportMarkdown } from '../drills/report.ts';
import { operatorProcedure, router, viewerProcedure } from '../trpc.ts';

const nameSchema = z.string().min(1).max(100);
const runIdSchema = z.string().min(1).max(200).regex(/^[A-Za-z0-9-]+$/);

function actionLabel(def: DrillDefinition, index: number): string {
  return `Run step ${index + 1}: ${def.steps[index]?.title ?? ''}`;
}

function describe(def: DrillDefinition) {
  return {
    name: def.name,
    title: def.title,
    summary: def.summary,
    recoverLabel: def.recover.label,
    steps: def.steps.map((s, i) => ({
      title: s.title,
      narrative: s.narrative,
      actionKind: s.action.kind,
      buttonLabel: actionLabel(def, i),
      chart: s.observation.chart,
      expect: s.observation.expect,
      hypothesis: s.check.hypothesis,
      deadlineMs: s.check.deadlineMs,
    })),
  };
}

function brief(run: DrillRun) {
  return {
    id: run.id,
    drill: run.drill,
    title: run.title,
    mode: run.mode,
    status: run.status,
    startedMs: run.startedMs,
    endedMs: run.endedMs,
    outcome: run.outcome,
    recoverMs: run.recoverMs,
    recoverLabel: run.recoverLabel,
    lost: run.verdict?.lost ?? null,
  };
}

export const drillsRouter = router({
  /** Every drill with its newest run. */
  list: viewerProcedure.query(({ ctx }) => {
    const engine = drillEngineOf(ctx.services);
    const last = new Map((engine?.list() ?? []).map((x) => [x.drill.name, x.lastRun] as const));
    return {
      available: engine !== null,
      current: engine?.current() ?? null,
      drills: BUILTIN_DRILLS.map((d) => {
        const run = last.get(d.name) ?? null;
        return { ...describe(d), lastRun: run === null ? null : brief(run) };
      }),
    };
  }),
  get: viewerProcedure.input(z.object({ name: nameSchema })).query(({ input }) => {
    const def = findDrill(input.name);
    return def === undefined ? null : { ...describe(def), definition: def };
  }),
  /** The running drill, if any (polled by the guided view). */
  current: viewerProcedure.query(({ ctx }) => drillEngineOf(ctx.services)?.current() ?? null),
  runs: viewerProcedure.input(z.object({ limit: z.number().int().min(1).max(200).default(50) }).optional()).query(({ ctx, input }) =>
    (drillEngineOf(ctx.services)?.recent(input?.limit ?? 50) ?? []).map(brief),
  ),
  run: viewerProcedure.input(z.object({ id: runIdSchema })).query(({ ctx, input }) => drillEngineOf(ctx.services)?.get(input.id) ?? null),
  report: viewerProcedure.input(z.object({ id: runIdSchema, format: z.enum(['json', 'markdown']) })).query(({ ctx, input }) => {
    const run = requireDrillEngine(ctx.services).get(input.id);
    if (run === null) return null;
    return input.format === 'json'
      ? { filename: `drill-${run.id}.json`, mime: 'application/json', body: reportJson(run) }
      : { filename: `drill-${run.id}.md`, mime: 'text/markdown', body: reportMarkdown(run) };
  }),
  start: operatorProcedure.input(z.object({ name: nameSchema, mode: z.enum(['guided', 'unattended']).default('guided'), force: z.boolean().default(false) })).mutation(({ ctx, input }) =>
    drillCall(() => requireDrillEngine(ctx.services).start(input.name, input.mode, { force: input.force })),
  ),
  /** Why the cluster is not a sound baseline for a drill right now (empty when healthy). */
  health: viewerProcedure.query(({ ctx }) => drillEngineOf(ctx.services)?.healthProblems() ?? []),
  runStep: operatorProcedure.input(z.object({ index: z.number().int().min(0).max(100) })).mutation(({ ctx, input }) =>
    drillCall(() => requireDrillEngine(ctx.services).runStep(input.index)),
  ),
  abort: operatorProcedure.mutation(({ ctx }) => drillCall(() => requireDrillEngine(ctx.services).abort())),
});
