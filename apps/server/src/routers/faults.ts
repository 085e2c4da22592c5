import { z } from 'zod';
import { operatorProcedure, router, viewerProcedure } from '../trpc.ts';
import type { Services } from '../services.ts';
import { TRPCError } from '@trpc/server';
import { faultActionSchema } from '../faults/actions.ts';
import { FAULT_TIME_LIMIT_MS_MAX, FAULT_TIME_LIMIT_MS_MIN, FaultControlError, faultControlOf, type FaultControl } from '../faults/control.ts';
import type { LeaderBalancer } from '../faults/leader-balancer.ts';
import { assertNode, assertPartition, engineCall, nodeIdSchema, partitionSchema, requireCluster } from './common.ts';

function control(services: Services): FaultControl {
  const c = faultControlOf(services);
  if (c === null) throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'faults need the embedded cluster; this server is attached to remote nodes (--attach)' });
  return c;
}

async function controlCall<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await engineCall(fn);
  } catch (error) {
    if (error instanceof TRPCError && error.cause instanceof FaultControlError) throw new TRPCError({ code: error.cause.code, message: error.cause.message });
    throw error;
  }
}

function balancer(services: Services): LeaderBalancer {
  requireCluster(services);
  if (services.balancer === null) throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'no leader balancer on this server' });
  return services.balancer;
}

/** Longest injected stall or delay: drills inject seconds, not hours. */
export const FAULT_DURATION_MS_MAX = 600_000;

const node = z.object({ node: nodeIdSchema });
const link = z.object({ source: nodeIdSchema, target: nodeIdSchema, bothWays: z.boolean().default(true) })
  .refine((l) => l.source !== l.target, { message: 'source and target must differ', path: ['target'] });

function state(services: Services) {
  const cluster = requireCluster(services);
  return { activeFaults: [...cluster.activeFaults()], health: [...cluster.health()] };
}

function checkLink(services: Services, l: { source: number; target: number }): void {
  assertNode(services, l.source);
  assertNode(services, l.target);
}

export const faultsRouter = router({
  /** Active faults and node health. */
  list: viewerProcedure.query(({ ctx }) => (ctx.services.cluster === null ? { activeFaults: [], health: [] } : state(ctx.services))),
  crash: operatorProcedure.input(node).mutation(async ({ ctx, input }) => {
    const c = requireCluster(ctx.services);
    assertNode(ctx.services, input.node);
    await engineCall(() => c.crash(input.node));
    return state(ctx.services);
  }),
  restart: operatorProcedure.input(node).mutation(async ({ ctx, input }) => {
    const c = requireCluster(ctx.services);
    assertNode(ctx.services, input.node);
    await engineCall(() => c.restart(input.node));
    return state(ctx.services);
  }),
  isolate: operatorProcedure.input(node).mutation(async ({ ctx, input }) => {
    const c = requireCluster(ctx.services);
    assertNode(ctx.services, input.node);
    await engineCall(() => c.isolate(input.node));
    return state(ctx.services);
  }),
  cutLink: operatorProcedure.input(link).mutation(async ({ ctx, input }) => {
    const c = requireCluster(ctx.services);
    checkLink(ctx.services, input);
    await engineCall(() => c.cutLink(input.source, input.target, input.bothWays));
    return state(ctx.services);
  }),
  healLink: operatorProcedure.input(link).mutation(async ({ ctx, input }) => {
    const c = requireCluster(ctx.services);
    checkLink(ctx.services, input);
    await engineCall(() => c.healLink(input.source, input.target, input.bothWays));
    return state(ctx.services);
  }),
  linkDelay: operatorProcedure
    .input(z.object({ source: nodeIdSchema, target: nodeIdSchema, delayMs: z.number().int().min(0).max(FAULT_DURATION_MS_MAX), jitterMs: z.number().int().min(0).max(FAULT_DURATION_MS_MAX).default(0), bothWays: z.boolean().default(true) }))
    .mutation(async ({ ctx, input }) => {
      const c = requireCluster(ctx.services);
      checkLink(ctx.services, input);
      await engineCall(() => c.setLinkDelay(input.source, input.target, input.delayMs, input.jitterMs, input.bothWays));
      return state(ctx.services);
    }),
  linkLoss: operatorProcedure
    .input(z.object({ source: nodeIdSchema, target: nodeIdSchema, lossRate: z.number().min(0).max(1), bothWays: z.boolean().default(true) }))
    .mutation(async ({ ctx, input }) => {
      const c = requireCluster(ctx.services);
      checkLink(ctx.services, input);
      await engineCall(() => c.setLinkLoss(input.source, input.target, input.lossRate, input.bothWays));
      return state(ctx.services);
    }),
  slowFsync: operatorProcedure.input(z.object({ node: nodeIdSchema, delayMs: z.number().int().min(0).max(FAULT_DURATION_MS_MAX) })).mutation(async ({ ctx, input }) => {
    const c = requireCluster(ctx.services);
    assertNode(ctx.services, input.node);
    await engineCall(() => c.slowFsync(input.node, input.delayMs));
    return state(ctx.services);
  }),
  pause: operatorProcedure.input(z.object({ node: nodeIdSchema, durationMs: z.number().int().min(1).max(FAULT_DURATION_MS_MAX) })).mutation(async ({ ctx, input }) => {
    const c = requireCluster(ctx.services);
    assertNode(ctx.services, input.node);
    await engineCall(() => c.pause(input.node, input.durationMs));
    return state(ctx.services);
  }),
  corruptSegment: operatorProcedure.input(node).mutation(async ({ ctx, input }) => {
    const c = requireCluster(ctx.services);
    assertNode(ctx.services, input.node);
    const corrupted = await engineCall(() => c.corruptSegment(input.node));
    return { ...state(ctx.services), corrupted };
  }),
  /** Not a fault: the node checks its whole log now (the runbook step after a disk alert). */
  startScrub: operatorProcedure.input(node).mutation(async ({ ctx, input }) => {
    const c = requireCluster(ctx.services);
    assertNode(ctx.services, input.node);
    const scrub = await engineCall(() => c.startScrub(input.node));
    return { ...state(ctx.services), scrub };
  }),
  diskFull: operatorProcedure.input(z.object({ node: nodeIdSchema, full: z.boolean() })).mutation(async ({ ctx, input }) => {
    const c = requireCluster(ctx.services);
    assertNode(ctx.services, input.node);
    await engineCall(() => c.setDiskFull(input.node, input.full));
    return state(ctx.services);
  }),
  transferLeadership: operatorProcedure.input(z.object({ partition: partitionSchema, to: nodeIdSchema })).mutation(async ({ ctx, input }) => {
    const c = requireCluster(ctx.services);
    assertPartition(ctx.services, input.partition);
    assertNode(ctx.services, input.to);
    await engineCall(() => c.transferLeadership(input.partition, input.to));
    return state(ctx.services);
  }),
  /** What a runbook action would do right now: leader loss, quorum loss, and why the cluster is not healthy (if it is not). */
  preview: viewerProcedure.input(z.object({ action: faultActionSchema })).query(({ ctx, input }) => controlCall(() => control(ctx.services).preview(input.action))),
  /** Faults injected from the console, active first; each with its time limit. */
  operatorFaults: viewerProcedure.query(({ ctx }) => {
    const c = faultControlOf(ctx.services);
    return { available: c !== null, active: c?.active() ?? [], recent: c?.recent() ?? [] };
  }),
  /**
   * A runbook action with a time limit after which it heals itself. The same idempotency key (one
   * confirm dialog) or an identical active fault returns the existing fault: two presses, one fault.
   */
  inject: operatorProcedure
    .input(z.object({
      action: faultActionSchema,
      timeLimitMs: z.number().int().min(FAULT_TIME_LIMIT_MS_MIN).max(FAULT_TIME_LIMIT_MS_MAX),
      idempotencyKey: z.string().min(8).max(100).regex(/^[A-Za-z0-9-]+$/).optional(),
      force: z.boolean().default(false),
    }))
    .mutation(({ ctx, input }) => controlCall(() => control(ctx.services).inject(input.action, {
      timeLimitMs: input.timeLimitMs,
      force: input.force,
      ...(input.idempotencyKey !== undefined ? { idempotencyKey: input.idempotencyKey } : {}),
    }))),
  /** Heals one console fault now (healing a healed one returns it unchanged). */
  heal: operatorProcedure.input(z.object({ id: z.string().min(1).max(100) })).mutation(({ ctx, input }) => controlCall(() => control(ctx.services).heal(input.id))),
  /** Partitions whose leader is not their preferred replica (LeaderBalancer.preferredLeaders: up, not drained). */
  leadershipSkew: viewerProcedure.query(({ ctx }) => (ctx.services.cluster === null || ctx.services.balancer === null ? [] : ctx.services.balancer.preferredLeaders().filter((x) => x.leader !== x.preferred))),
  /** Drained nodes, returned nodes waiting to get their leaderships back, and the last automatic move. */
  leadership: viewerProcedure.query(({ ctx }) => ctx.services.balancer?.status() ?? null),
  /** Moves every partition's leadership to its preferred replica: spreads leaders evenly again. */
  preferredLeaders: operatorProcedure.mutation(async ({ ctx }) => {
    const c = requireCluster(ctx.services);
    const moved: string[] = [];
    for (const x of balancer(ctx.services).preferredLeaders()) {
      if (x.leader === 0 || x.leader === x.preferred) continue;
      await engineCall(() => c.transferLeadership(x.partition, x.preferred));
      moved.push(`p${x.partition}: ${x.leader}→${x.preferred}`);
    }
    return { moved };
  }),
  healAll: operatorProcedure.mutation(async ({ ctx }) => {
    const c = requireCluster(ctx.services);
    await engineCall(() => c.healAll());
    await faultControlOf(ctx.services)?.healedElsewhere();
    return state(ctx.services);
  }),
});
