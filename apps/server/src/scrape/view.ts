// The cluster as the scrapes show it: per partition the leader (the up node that says it
// leads, highest term winning), its replicas, in-sync set and lag; elections the server saw.

import type { NodeSnapshot } from './snapshot.ts';

export const ELECTIONS_KEPT_PER_PARTITION = 20;

export interface ReplicaView {
  replica: number;
  isLeader: boolean;
  inSync: boolean;
  lagRecords: number;
  lagSeconds: number;
  /** What this replica itself reports (null when its node is down or not scraped). */
  logEndOffset: number | null;
  up: boolean;
}

export interface ElectionView {
  atMs: number;
  leader: number;
  term: number;
}

export interface PartitionView {
  partition: number;
  /** 0 when no up node leads it. */
  leader: number;
  replicas: number[];
  inSync: number[];
  term: number;
  commitIndex: number;
  highWatermark: number;
  underReplicated: boolean;
  replicaLag: ReplicaView[];
  elections: ElectionView[];
}

export interface SnapshotEntry {
  nodeId: number;
  up: boolean;
  snapshot: NodeSnapshot;
}

export interface Placement {
  partitionCount: number;
  replicasOf(partition: number): number[];
}

export class ClusterView {
  private partitionsView: PartitionView[] = [];
  private readonly elections = new Map<number, ElectionView[]>();
  private readonly lastLeader = new Map<number, { leader: number; term: number }>();

  constructor(private readonly placement: Placement | null) {}

  update(entries: readonly SnapshotEntry[], nowMs: number): void {
    let partitionCount = this.placement?.partitionCount ?? 0;
    if (this.placement === null) {
      for (const e of entries) for (const p of e.snapshot.partitions.keys()) partitionCount = Math.max(partitionCount, p + 1);
    }
    const views: PartitionView[] = [];
    for (let p = 0; p < partitionCount; p++) {
      let leaderEntry: SnapshotEntry | null = null;
      let leaderTerm = -1;
      const hosting: number[] = [];
      for (const e of entries) {
        const g = e.snapshot.partitions.get(p);
        if (g === undefined) continue;
        hosting.push(e.nodeId);
        if (e.up && g.isLeader && g.term > leaderTerm) {
          leaderEntry = e;
          leaderTerm = g.term;
        }
      }
      const replicas = this.placement?.replicasOf(p) ?? hosting.sort((a, b) => a - b);
      const leaderGauges = leaderEntry?.snapshot.partitions.get(p);
      const lags = leaderEntry?.snapshot.replicas.get(p);
      const leader = leaderEntry?.nodeId ?? 0;
      const replicaLag: ReplicaView[] = replicas.map((r) => {
        const entry = entries.find((e) => e.nodeId === r);
        const own = entry?.up ? entry.snapshot.partitions.get(p) : undefined;
        const lag = lags?.get(r);
        return {
          replica: r,
          isLeader: r === leader,
          inSync: r === leader ? leader !== 0 : (lag?.inSync ?? false),
          lagRecords: lag?.lagRecords ?? 0,
          lagSeconds: lag?.lagSeconds ?? 0,
          logEndOffset: own?.logEndOffset ?? null,
          up: entry?.up ?? false,
        };
      });
      const inSync = replicaLag.filter((r) => r.inSync).map((r) => r.replica);
      const term = leaderGauges?.term ?? Math.max(0, ...entries.map((e) => e.snapshot.partitions.get(p)?.term ?? 0));
      this.noteElection(p, leader, term, nowMs);
      views.push({
        partition: p,
        leader,
        replicas,
        inSync,
        term,
        commitIndex: leaderGauges?.commitIndex ?? 0,
        highWatermark: leaderGauges?.highWatermark ?? 0,
        underReplicated: leader !== 0 && inSync.length < replicas.length,
        replicaLag,
        elections: [...(this.elections.get(p) ?? [])].reverse(),
      });
    }
    this.partitionsView = views;
  }

  private noteElection(partition: number, leader: number, term: number, nowMs: number): void {
    if (leader === 0) return;
    const last = this.lastLeader.get(partition);
    if (last !== undefined && last.leader === leader && last.term === term) return;
    this.lastLeader.set(partition, { leader, term });
    let list = this.elections.get(partition);
    if (list === undefined) this.elections.set(partition, (list = []));
    list.push({ atMs: nowMs, leader, term });
    if (list.length > ELECTIONS_KEPT_PER_PARTITION) list.shift();
  }

  partitions(): readonly PartitionView[] {
    return this.partitionsView;
  }

  partition(p: number): PartitionView | undefined {
    return this.partitionsView[p];
  }

  get partitionCount(): number {
    return this.partitionsView.length;
  }
}
