import { z } from 'zod';
import { operatorProcedure, router, viewerProcedure } from '../trpc.ts';
import type { Services } from '../services.ts';
import { assertNode, assertPartition, engineCall, nodeIdSchema, partitionSchema, requireCluster } from './common.ts';

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
  healAll: operatorProcedure.mutation(async ({ ctx }) => {
    const c = requireCluster(ctx.services);
    await engineCall(() => c.healAll());
    return state(ctx.services);
  }),
});
