// History of the partition map: per partition, the leader, term and replica states each time one
// of them changed. A steady cluster adds nothing, so the retained hour costs a few records per
// partition, and the map at any retained moment is one binary search per partition.

import type { ReplicaState } from '../replica-state.ts';

/** Changes kept per partition; the oldest are dropped first (the hour's retention usually rules). */
export const MAP_CHANGES_KEPT_PER_PARTITION = 256;
/** As long as the series ring buffers (1 h at 1 s). */
export const MAP_HISTORY_RETENTION_MS = 3_600_000;

export interface MapRecord {
  tMs: number;
  leader: number;
  term: number;
  replicas: readonly number[];
  states: readonly ReplicaState[];
}

export class MapHistory {
  private readonly changes = new Map<number, MapRecord[]>();
  private oldestMs: number | null = null;

  /** Files the partition's current state at tMs if it differs from the last record. */
  note(partition: number, record: MapRecord): void {
    let list = this.changes.get(partition);
    if (list === undefined) this.changes.set(partition, (list = []));
    const last = list[list.length - 1];
    if (last !== undefined && sameState(last, record)) return;
    list.push(record);
    this.oldestMs ??= record.tMs;
    // Keep the newest record older than the retention cut: it is the state at the cut.
    const cutMs = record.tMs - MAP_HISTORY_RETENTION_MS;
    let drop = 0;
    while (drop + 1 < list.length && (list[drop + 1]?.tMs ?? Infinity) <= cutMs) drop++;
    if (list.length - drop > MAP_CHANGES_KEPT_PER_PARTITION) drop = list.length - MAP_CHANGES_KEPT_PER_PARTITION;
    if (drop > 0) list.splice(0, drop);
  }

  /** The record in force at atMs (the newest at or before it); undefined before the first. */
  at(partition: number, atMs: number): MapRecord | undefined {
    const list = this.changes.get(partition);
    if (list === undefined) return undefined;
    let lo = 0;
    let hi = list.length - 1;
    let found: MapRecord | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = list[mid];
      if (r === undefined) break;
      if (r.tMs <= atMs) {
        found = r;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Every record of one partition from fromMs on, plus the one in force at fromMs. */
  range(partition: number, fromMs: number, toMs: number): MapRecord[] {
    const list = this.changes.get(partition) ?? [];
    const before = this.at(partition, fromMs);
    const inside = list.filter((r) => r.tMs > fromMs && r.tMs < toMs);
    return before === undefined ? inside : [before, ...inside];
  }

  /** The earliest moment the history can answer for (null before the first scrape). */
  get earliestMs(): number | null {
    return this.oldestMs;
  }

  changeCount(): number {
    let n = 0;
    for (const list of this.changes.values()) n += list.length;
    return n;
  }
}

function sameState(a: MapRecord, b: MapRecord): boolean {
  if (a.leader !== b.leader || a.term !== b.term || a.states.length !== b.states.length) return false;
  for (let i = 0; i < a.states.length; i++) if (a.states[i] !== b.states[i] || a.replicas[i] !== b.replicas[i]) return false;
  return true;
}
