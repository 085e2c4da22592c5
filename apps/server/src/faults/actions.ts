// The operator's runbook actions (the console's fault and load buttons), as validated data.

import { z } from 'zod';
import { nodeIdSchema, partitionSchema } from '../routers/common.ts';
import { RATE_MAX_PER_SEC } from '../load/generator.ts';

/** Added fsync or link delay at most: seconds, not hours. */
export const FAULT_DELAY_MS_MAX = 10_000;

export const faultActionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('crash'), node: nodeIdSchema }),
  z.object({ kind: z.literal('isolate'), node: nodeIdSchema }),
  z.object({ kind: z.literal('pause'), node: nodeIdSchema }),
  z.object({ kind: z.literal('slowFsync'), node: nodeIdSchema, delayMs: z.number().int().min(1).max(FAULT_DELAY_MS_MAX) }),
  z.object({ kind: z.literal('cutLink'), source: nodeIdSchema, target: nodeIdSchema }),
  z.object({ kind: z.literal('linkDelay'), source: nodeIdSchema, target: nodeIdSchema, delayMs: z.number().int().min(1).max(FAULT_DELAY_MS_MAX) }),
  z.object({ kind: z.literal('transferLeadership'), partition: partitionSchema, to: nodeIdSchema }),
  z.object({ kind: z.literal('load'), ratePerSec: z.number().int().min(1).max(RATE_MAX_PER_SEC) }),
  /** Not a fault: the node checks its whole log now (after a disk alert); it may stop on what it finds. */
  z.object({ kind: z.literal('scrub'), node: nodeIdSchema }),
  /** Not a fault: the node leads nothing while another replica can (a slow disk), until healed (undrained). */
  z.object({ kind: z.literal('drain'), node: nodeIdSchema }),
]).superRefine((a, ctx) => {
  if ((a.kind === 'cutLink' || a.kind === 'linkDelay') && a.source === a.target) ctx.addIssue({ code: 'custom', message: 'the two ends of a link must be different nodes', path: ['target'] });
});
export type FaultAction = z.infer<typeof faultActionSchema>;

/** "crash node 2", "cut the link 1↔3": how the console, the audit trail and the banner say it. */
export function describeAction(a: FaultAction): string {
  switch (a.kind) {
    case 'crash': return `crash node ${a.node}`;
    case 'isolate': return `isolate node ${a.node}`;
    case 'pause': return `pause node ${a.node}`;
    case 'slowFsync': return `slow node ${a.node}'s fsync by ${a.delayMs} ms`;
    case 'cutLink': return `cut the link ${a.source}↔${a.target}`;
    case 'linkDelay': return `delay the link ${a.source}↔${a.target} by ${a.delayMs} ms`;
    case 'transferLeadership': return `move partition ${a.partition}'s leadership to node ${a.to}`;
    case 'load': return `set the load to ${a.ratePerSec} records/s`;
    case 'scrub': return `scrub node ${a.node}'s whole log now`;
    case 'drain': return `drain node ${a.node} (its leaderships move away and stay away)`;
  }
}

/** Actions with nothing to heal afterwards (applied once, no time limit). */
export function isInstant(a: FaultAction): boolean {
  return a.kind === 'transferLeadership' || a.kind === 'scrub';
}
