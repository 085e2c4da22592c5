// The one definition of a replica's state (leader / in-sync / lagging / offline / unknown),
// computed once per scrape on the server and read by every router (overview, replication,
// partitions), so no two pages can disagree about a replica.
//
// The engine's own in-sync flag (acknowledged recently and not far behind) flips on a single
// slow round; the console shows the state with hysteresis: a follower becomes "lagging" only
// after being out of sync for LAGGING_AFTER_MS, and "in-sync" again only after being in sync
// for IN_SYNC_AFTER_MS. Offline (node down) and leader are facts and apply at once. "Unknown"
// means nobody measures the follower: the partition has no leader, or the leader has not
// reported it yet (lag figures null).

export type ReplicaState = 'leader' | 'in-sync' | 'lagging' | 'offline' | 'unknown';

/** A follower out of sync this long becomes "lagging". */
export const LAGGING_AFTER_MS = 3_000;
/** A lagging follower in sync this long becomes "in-sync" again. */
export const IN_SYNC_AFTER_MS = 5_000;
/**
 * A caught-up follower (lag 0) whose in-sync flag stays down this long is lagging anyway: the
 * leader has not heard from it. Shorter gaps are the check-quorum reset of the flag, not lag.
 */
export const SILENT_LAGGING_AFTER_MS = 10_000;
/** A leader change this recent marks the partition "recently re-elected". */
export const RECENT_ELECTION_MS = 60_000;

/** What one scrape says about one replica. */
export interface ReplicaObservation {
  up: boolean;
  isLeader: boolean;
  /** The partition has a leader that is up. */
  partitionLed: boolean;
  /** The leader's in-sync flag for this follower; null when the leader did not report it. */
  engineInSync: boolean | null;
  lagRecords: number | null;
  lagSeconds: number | null;
}

/** A figure as the scrape gave it: a non-finite or missing value is unknown. */
export function knownFigure(value: number | null | undefined): number | null {
  return value === null || value === undefined || !Number.isFinite(value) ? null : value;
}

/**
 * The state this observation alone would give (before hysteresis). Out of sync counts as lagging
 * when the figures show it behind, or when the flag has been down for SILENT_LAGGING_AFTER_MS
 * (`flagDownMs`): so "lagging" never sits next to a lag of 0 that is only a flag flip.
 */
export function rawState(o: ReplicaObservation, flagDownMs = 0): ReplicaState {
  if (!o.up) return 'offline';
  if (o.isLeader) return 'leader';
  if (!o.partitionLed || o.engineInSync === null || (o.lagRecords === null && o.lagSeconds === null)) return 'unknown';
  if (o.engineInSync) return 'in-sync';
  const behind = (o.lagRecords ?? 0) > 0 || (o.lagSeconds ?? 0) > 0;
  return behind || flagDownMs >= SILENT_LAGGING_AFTER_MS ? 'lagging' : 'in-sync';
}

interface Tracked {
  state: ReplicaState;
  /** The other follower state the raw figures have shown since candidateSinceMs, if any. */
  candidate: 'in-sync' | 'lagging' | null;
  candidateSinceMs: number;
  /** Since when the engine's in-sync flag has been down (null = up). */
  flagDownSinceMs: number | null;
  /** The worst lag seen since the replica became lagging (null while it is not lagging). */
  peak: PeakLag | null;
}

/**
 * Why a replica reads "lagging": the worst lag of its current lagging episode. Hysteresis keeps a
 * follower lagging for a while after it caught up; this is the figure that made it so, shown next to
 * a current lag of 0 so that the state and the figures never seem to disagree.
 */
export interface PeakLag {
  records: number | null;
  seconds: number | null;
}

function maxKnown(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}

/** Per (partition, replica) state with hysteresis between in-sync and lagging. */
export class ReplicaStateTracker {
  private readonly tracked = new Map<string, Tracked>();

  observe(partition: number, replica: number, o: ReplicaObservation, nowMs: number): ReplicaState {
    const key = `${partition}:${replica}`;
    const t = this.next(key, o, nowMs);
    t.peak = t.state !== 'lagging' ? null : { records: maxKnown(t.peak?.records ?? null, o.lagRecords), seconds: maxKnown(t.peak?.seconds ?? null, o.lagSeconds) };
    return t.state;
  }

  /** The worst lag of the replica's current lagging episode (null unless it is lagging). */
  peakLag(partition: number, replica: number): PeakLag | null {
    return this.tracked.get(`${partition}:${replica}`)?.peak ?? null;
  }

  private next(key: string, o: ReplicaObservation, nowMs: number): Tracked {
    const prev = this.tracked.get(key);
    const flagDownSinceMs = o.engineInSync === false ? (prev?.flagDownSinceMs ?? nowMs) : null;
    const raw = rawState(o, flagDownSinceMs === null ? 0 : nowMs - flagDownSinceMs);
    const followerRaw = raw === 'in-sync' || raw === 'lagging';
    const followerPrev = prev !== undefined && (prev.state === 'in-sync' || prev.state === 'lagging');
    if (prev === undefined || !followerRaw || !followerPrev) {
      // Facts (offline, leader, unknown) and the first measured state apply at once.
      const fresh: Tracked = { state: raw, candidate: null, candidateSinceMs: nowMs, flagDownSinceMs, peak: null };
      this.tracked.set(key, fresh);
      return fresh;
    }
    prev.flagDownSinceMs = flagDownSinceMs;
    if (raw === prev.state) {
      prev.candidate = null;
      return prev;
    }
    if (prev.candidate !== raw) {
      prev.candidate = raw;
      prev.candidateSinceMs = nowMs;
    }
    const holdMs = raw === 'lagging' ? LAGGING_AFTER_MS : IN_SYNC_AFTER_MS;
    if (nowMs - prev.candidateSinceMs >= holdMs) {
      prev.state = raw;
      prev.candidate = null;
    }
    return prev;
  }
}

/** A partition is under-replicated when it has a leader and a replica is lagging or offline. */
export function isUnderReplicated(leader: number, states: readonly ReplicaState[]): boolean {
  return leader !== 0 && states.some((s) => s === 'lagging' || s === 'offline');
}

/** A replica counts in the in-sync set when it leads or is in sync. */
export function countsInSync(state: ReplicaState): boolean {
  return state === 'leader' || state === 'in-sync';
}
