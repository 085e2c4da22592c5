// What a fault would do, from the current partition map, before it is injected: which
// partitions lose their leader (an election, a short stall), which lose their quorum (no
// writes until healed), and which only lose a replica or get slower.

import { SCRUB_BYTES_PER_SEC } from '../../../../packages/log-cluster/src/storage/journal.ts';
import type { ClusterHandle } from '../services.ts';
import type { FaultAction } from './actions.ts';

export interface BlastRadius {
  /** Partitions whose current leader the fault takes away (they elect a new one). */
  leaderLoss: number[];
  /** Partitions left without a majority of usable replicas (appends fail until healed). */
  quorumLoss: number[];
  /** Partitions with a replica on an affected node that keep leader and quorum. */
  degraded: number[];
  /** One line per consequence, for the confirm step. */
  notes: string[];
}

/** Nodes the action makes unable to take part in a quorum (down, unreachable or stalled). */
function silencedNodes(action: FaultAction): number[] {
  switch (action.kind) {
    case 'crash':
    case 'isolate':
    case 'pause':
      return [action.node];
    default:
      return [];
  }
}

/** What the map alone does not say: a node's bytes on disk (its scraped logscope_disk_used_bytes). */
export interface BlastFacts {
  logBytes?(node: number): number | null;
  /** Where a drain would move each partition the node leads (the leader balancer's choice). */
  drainPlan?(node: number): { partition: number; to: number | null }[];
}

export function blastRadius(cluster: ClusterHandle, action: FaultAction, facts: BlastFacts = {}): BlastRadius {
  const down = new Set(cluster.health().filter((h) => !h.up).map((h) => h.node));
  const silenced = new Set([...down, ...silencedNodes(action)]);
  const touched = new Set<number>(
    'node' in action ? [action.node] : action.kind === 'cutLink' || action.kind === 'linkDelay' ? [action.source, action.target] : [],
  );
  const leaderLoss: number[] = [];
  const quorumLoss: number[] = [];
  const degraded: number[] = [];
  const slowLeaders: number[] = [];
  const moves: string[] = [];
  for (let p = 0; p < cluster.partitionCount; p++) {
    const replicas = cluster.replicasOf(p);
    const leader = cluster.leaderOf(p);
    const usable = replicas.filter((r) => !silenced.has(r)).length;
    const majority = Math.floor(replicas.length / 2) + 1;
    if (usable < majority) quorumLoss.push(p);
    else if (leader !== 0 && silenced.has(leader) && !down.has(leader)) leaderLoss.push(p);
    else if (replicas.some((r) => touched.has(r))) degraded.push(p);
    if (action.kind === 'slowFsync' && leader === action.node) slowLeaders.push(p);
    if (action.kind === 'transferLeadership' && p === action.partition) moves.push(`partition ${p}: leader node ${leader === 0 ? 'none' : leader} → node ${action.to}`);
  }
  // A quorum-lost partition whose leader is on the silenced node loses its leader too.
  for (const p of quorumLoss) if (silenced.has(cluster.leaderOf(p)) && !down.has(cluster.leaderOf(p))) leaderLoss.push(p);
  leaderLoss.sort((a, b) => a - b);

  const list = (ps: number[]): string => (ps.length <= 16 ? ps.join(', ') : `${ps.slice(0, 16).join(', ')}…`);
  const notes: string[] = [];
  if (quorumLoss.length > 0) notes.push(`${quorumLoss.length} partition(s) lose quorum — appends to them fail until healed: ${list(quorumLoss)}`);
  if (leaderLoss.length > 0) notes.push(`${leaderLoss.length} partition(s) lose their leader and hold an election (a stall of about a second): ${list(leaderLoss)}`);
  if (action.kind === 'slowFsync') {
    notes.push(`every fsync of node ${action.node} takes ${action.delayMs} ms longer; it leads ${slowLeaders.length} partition(s)${slowLeaders.length > 0 ? ` (${list(slowLeaders)})` : ''}, where the two other replicas still form the quorum`);
  }
  if (action.kind === 'cutLink' || action.kind === 'linkDelay') {
    notes.push(`${degraded.length} partition(s) replicate over the link ${action.source}↔${action.target}; with three replicas none loses quorum`);
  }
  if (action.kind === 'load') notes.push(`the load generator sends ${action.ratePerSec} records/s instead of its current rate`);
  if (action.kind === 'scrub') notes.push(...scrubNotes(cluster, action.node, facts.logBytes?.(action.node) ?? null));
  if (action.kind === 'drain') notes.push(...drainNotes(action.node, facts.drainPlan?.(action.node) ?? null));
  notes.push(...moves);
  if (notes.length === 0) notes.push(degraded.length > 0 ? `${degraded.length} partition(s) lose one replica but keep their leader and quorum: ${list(degraded)}` : 'no partition is affected');
  else if (degraded.length > 0 && (action.kind === 'crash' || action.kind === 'isolate' || action.kind === 'pause')) {
    notes.push(`${degraded.length} more partition(s) lose one follower but keep leader and quorum`);
  }
  return { leaderLoss, quorumLoss, degraded, notes };
}

/** A drain stops nothing: each leadership moves by a transfer (no election timeout), and the node stays a follower. */
function drainNotes(node: number, plan: { partition: number; to: number | null }[] | null): string[] {
  if (plan === null) return [`node ${node}'s leaderships move to other replicas`];
  const moving = plan.filter((x): x is { partition: number; to: number } => x.to !== null);
  const stuck = plan.filter((x) => x.to === null).map((x) => x.partition);
  const shown = moving.slice(0, 16).map((x) => `p${x.partition} → node ${x.to}`).join(', ');
  return [
    moving.length === 0 ? `node ${node} leads no partition another replica could take: no leadership moves now` : `${moving.length} partition(s) led by node ${node} move their leadership by a transfer (writes to each pause for about one round trip, no election timeout): ${shown}${moving.length > 16 ? '…' : ''}`,
    ...(stuck.length > 0 ? [`${stuck.length} partition(s) stay on node ${node}: no other replica of theirs is up (${stuck.join(', ')})`] : []),
    `while drained, node ${node} is handed no leadership back: its replicas campaign only after the others had two election timeouts to win, so an election picks it only when no other replica can lead (and one that does is moved away at the next tick while another can); it stays a follower of every partition it holds. Healing the drain gives it its preferred leaderships back`,
  ];
}

/** A scrub stops nothing by itself; what it may find stops the node, and then its partitions elect. */
function scrubNotes(cluster: ClusterHandle, node: number, logBytes: number | null): string[] {
  const mib = logBytes === null ? null : logBytes / 2 ** 20;
  const rate = SCRUB_BYTES_PER_SEC / 2 ** 20;
  const size = mib === null ? 'its whole log' : `its whole log (at most ${mib.toFixed(1)} MiB on disk: about ${Math.max(1, Math.ceil(mib / rate))} s at the default ${rate} MiB/s)`;
  const led = Array.from({ length: cluster.partitionCount }, (_, p) => p).filter((p) => cluster.leaderOf(p) === node);
  const list = led.length <= 16 ? led.join(', ') : `${led.slice(0, 16).join(', ')}…`;
  return [
    `node ${node} reads back ${size} and checks every record, in small steps beside its work; nothing stops or slows on purpose`,
    `if a record fails its check, node ${node} stops rather than serve it and restarts by itself 1 s later (its recovery drops that record's partition from there on and keeps the other partitions' records; that partition's leader sends the rest again)${led.length > 0 ? `: the ${led.length} partition(s) it leads would elect a new leader (${list})` : ''}`,
  ];
}
