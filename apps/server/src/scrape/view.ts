// The cluster as the scrapes show it: per partition the leader (the up node that says it
// leads, highest term winning), its replicas, in-sync set and lag; elections the server saw.
// Replica states come from replica-state.ts (one definition, with hysteresis); every change of
// the map is filed in its history, so the map can be read at any retained moment.

import { countsInSync, isUnderReplicated, knownFigure, RECENT_ELECTION_MS, ReplicaStateTracker, type PeakLag, type ReplicaState } from '../replica-state.ts';
import { MapHistory } from '../store/map-history.ts';
import type { NodeSnapshot } from './snapshot.ts';

export const ELECTIONS_KEPT_PER_PARTITION = 20;

export interface ReplicaView {
  replica: number;
  isLeader: boolean;
  /** The one definition (replica-state.ts); inSync is state leader or in-sync. */
  state: ReplicaState;
  inSync: boolean;
  /** null = unknown (no leader measures this follower, or it has not reported it yet). */
  lagRecords: number | null;
  lagSeconds: number | null;
  /** While lagging: the worst lag of this lagging episode (it may have caught up since; hysteresis holds the state). */
  peakLag: PeakLag | null;
  /** What this replica itself reports (null when its node is down or not scraped). */
  logEndOffset: number | null;
  /** The first offset this replica still holds (retention deleted those before it); null when its node is down, not scraped, or does not report it. */
  logStartOffset: number | null;
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
  /** The leader changed (after the first leader the server saw) within RECENT_ELECTION_MS. */
  recentlyElected: boolean;
  /** Leader changes the server saw (after the first leader), within the kept list. */
  electionCount: number;
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
  private readonly states = new ReplicaStateTracker();
  /** Partitions whose kept elections still begin with the first leader the server saw. */
  private readonly firstSeen = new Set<number>();
  readonly history = new MapHistory();

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
        const isLeader = r === leader;
        const lagRecords = isLeader ? 0 : knownFigure(lag?.lagRecords);
        const lagSeconds = isLeader ? 0 : knownFigure(lag?.lagSeconds);
        const up = entry?.up ?? false;
        const state = this.states.observe(p, r, { up, isLeader, partitionLed: leader !== 0, engineInSync: lag?.inSync ?? null, lagRecords, lagSeconds }, nowMs);
        return { replica: r, isLeader, state, inSync: countsInSync(state), lagRecords, lagSeconds, peakLag: this.states.peakLag(p, r), logEndOffset: own?.logEndOffset ?? null, logStartOffset: own !== undefined && own.logStartOffset >= 0 ? own.logStartOffset : null, up };
      });
      const inSync = replicaLag.filter((r) => r.inSync).map((r) => r.replica);
      const term = leaderGauges?.term ?? Math.max(0, ...entries.map((e) => e.snapshot.partitions.get(p)?.term ?? 0));
      this.noteElection(p, leader, term, nowMs);
      const states = replicaLag.map((r) => r.state);
      this.history.note(p, { tMs: nowMs, leader, term, replicas, states });
      const elections = [...(this.elections.get(p) ?? [])].reverse();
      // The first leader the server saw is not a re-election.
      const reElections = elections.slice(0, Math.max(0, elections.length - (this.firstSeen.has(p) ? 1 : 0)));
      views.push({
        partition: p,
        leader,
        replicas,
        inSync,
        term,
        commitIndex: leaderGauges?.commitIndex ?? 0,
        highWatermark: leaderGauges?.highWatermark ?? 0,
        underReplicated: isUnderReplicated(leader, states),
        recentlyElected: reElections.some((e) => nowMs - e.atMs < RECENT_ELECTION_MS),
        electionCount: reElections.length,
        replicaLag,
        elections,
      });
    }
    this.partitionsView = views;
  }

  private noteElection(partition: number, leader: number, term: number, nowMs: number): void {
    if (leader === 0) return;
    const last = this.lastLeader.get(partition);
    if (last !== undefined && last.leader === leader && last.term === term) return;
    if (last === undefined) this.firstSeen.add(partition);
    this.lastLeader.set(partition, { leader, term });
    let list = this.elections.get(partition);
    if (list === undefined) this.elections.set(partition, (list = []));
    list.push({ atMs: nowMs, leader, term });
    if (list.length > ELECTIONS_KEPT_PER_PARTITION) {
      list.shift();
      this.firstSeen.delete(partition); // the first leader fell off the list
    }
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
