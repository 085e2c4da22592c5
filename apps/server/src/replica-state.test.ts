import { describe, expect, it } from 'vitest';
import { IN_SYNC_AFTER_MS, LAGGING_AFTER_MS, SILENT_LAGGING_AFTER_MS, ReplicaStateTracker, isUnderReplicated, type ReplicaObservation } from './replica-state.ts';

const follower = (engineInSync: boolean | null, lagRecords: number | null = 0): ReplicaObservation => ({
  up: true, isLeader: false, partitionLed: true, engineInSync, lagRecords, lagSeconds: lagRecords === null ? null : 0,
});

describe('replica state', () => {
  it('a follower that flips out of sync for one scrape stays in-sync (no flapping)', () => {
    const t = new ReplicaStateTracker();
    expect(t.observe(0, 2, follower(true), 0)).toBe('in-sync');
    expect(t.observe(0, 2, follower(false), 1_000)).toBe('in-sync');
    expect(t.observe(0, 2, follower(true), 2_000)).toBe('in-sync');
    expect(t.observe(0, 2, follower(false), 3_000)).toBe('in-sync');
  });

  it('becomes lagging only after being out of sync for LAGGING_AFTER_MS, and in-sync again after IN_SYNC_AFTER_MS', () => {
    const t = new ReplicaStateTracker();
    t.observe(0, 2, follower(true), 0);
    t.observe(0, 2, follower(false, 500), 1_000);
    expect(t.observe(0, 2, follower(false, 500), 1_000 + LAGGING_AFTER_MS - 1)).toBe('in-sync');
    expect(t.observe(0, 2, follower(false, 500), 1_000 + LAGGING_AFTER_MS)).toBe('lagging');
    const back = 10_000;
    expect(t.observe(0, 2, follower(true), back)).toBe('lagging');
    expect(t.observe(0, 2, follower(true), back + IN_SYNC_AFTER_MS - 1)).toBe('lagging');
    expect(t.observe(0, 2, follower(true), back + IN_SYNC_AFTER_MS)).toBe('in-sync');
  });

  it('while hysteresis holds a caught-up follower lagging, the episode\'s worst lag says why', () => {
    const t = new ReplicaStateTracker();
    const behind = (records: number, seconds: number): ReplicaObservation => ({ ...follower(false, records), lagSeconds: seconds });
    t.observe(0, 2, follower(true), 0);
    t.observe(0, 2, behind(3, 1.5), 1_000);
    expect(t.observe(0, 2, behind(3, 1.5), 1_000 + LAGGING_AFTER_MS)).toBe('lagging');
    t.observe(0, 2, behind(7, 4.25), 5_000);
    // Caught up: the figures read 0, the state is still lagging, and the peak explains it.
    expect(t.observe(0, 2, follower(true), 6_000)).toBe('lagging');
    expect(t.peakLag(0, 2)).toEqual({ records: 7, seconds: 4.25 });
    expect(t.observe(0, 2, follower(true), 6_000 + IN_SYNC_AFTER_MS)).toBe('in-sync');
    expect(t.peakLag(0, 2)).toBeNull();
  });

  it('a caught-up follower whose flag drops is not lagging until the silence lasts SILENT_LAGGING_AFTER_MS', () => {
    const t = new ReplicaStateTracker();
    expect(t.observe(2, 1, follower(false, 0), 0)).toBe('in-sync');
    expect(t.observe(2, 1, follower(false, 0), SILENT_LAGGING_AFTER_MS - 1)).toBe('in-sync');
    expect(t.observe(2, 1, follower(false, 0), SILENT_LAGGING_AFTER_MS)).toBe('in-sync'); // raw lagging now, held by hysteresis
    expect(t.observe(2, 1, follower(false, 0), SILENT_LAGGING_AFTER_MS + LAGGING_AFTER_MS)).toBe('lagging');
  });

  it('a down node is offline at once; a follower nobody measures is unknown, not lagging', () => {
    const t = new ReplicaStateTracker();
    t.observe(1, 3, follower(true), 0);
    expect(t.observe(1, 3, { ...follower(true), up: false }, 1_000)).toBe('offline');
    expect(t.observe(1, 3, follower(null, null), 2_000)).toBe('unknown');
    expect(t.observe(1, 4, { ...follower(false), partitionLed: false }, 0)).toBe('unknown');
  });

  it('under-replicated means a led partition with a lagging or offline replica, never an unknown one', () => {
    expect(isUnderReplicated(1, ['leader', 'in-sync', 'offline'])).toBe(true);
    expect(isUnderReplicated(1, ['leader', 'lagging', 'in-sync'])).toBe(true);
    expect(isUnderReplicated(1, ['leader', 'unknown', 'in-sync'])).toBe(false);
    expect(isUnderReplicated(0, ['offline', 'offline', 'in-sync'])).toBe(false);
  });
});
