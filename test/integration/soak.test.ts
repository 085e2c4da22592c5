// Short runs of the fault soak (test/support/soak.ts; `npm run soak` runs longer ones): node
// processes, a seeded schedule of SIGKILLs, rotted bytes under running nodes with a scrub, pauses,
// isolations and slow disks (and, in the second, a disk put back to an older copy), with producers
// and readers through it all.
import { describe, expect, it } from 'vitest';
import { runSoak, soakPassed } from '../support/soak.ts';

describe('a fault soak of five node processes', () => {
  it('loses no acknowledged record, moves none, duplicates none, and never reads an acknowledged offset stale', async () => {
    // Seed 21 rots bytes under two of partition 13's replicas (in other partitions' records) while
    // its third is isolated: when recovery cut every partition's records after a bad one, this run
    // lost acknowledged records of partition 13 (see Journal.salvageAfter).
    const result = await runSoak({ seconds: 40, seed: 21, nodes: 5, partitions: 16, cacheMib: null });
    const summary = JSON.stringify({ ...result, faults: result.faults.length });
    expect(result.lost, summary).toEqual([]);
    expect(result.moved, summary).toEqual([]);
    expect(result.duplicates, summary).toBe(0);
    expect(result.staleReads, summary).toEqual([]);
    // It did something: writes and reads under several faults.
    expect(result.acknowledged).toBeGreaterThan(1_000);
    expect(result.readsChecked).toBeGreaterThan(1_000);
    expect(result.faults.length, result.faults.join('\n')).toBeGreaterThanOrEqual(6);
    expect(soakPassed(result)).toBe(true);
  }, 180_000);

  it('with a disk put back to an older copy among the faults (three processes): its peers tell it, and nothing is lost', async () => {
    // Seed 41 copies node 1's directory (the supervisor's copyDisk) at ~3 s and puts it back ~12 s
    // later, between crashes, rots, pauses and isolations of the others.
    const result = await runSoak({ seconds: 40, seed: 41, nodes: 3, partitions: 12, cacheMib: null, rollback: true });
    const summary = JSON.stringify({ ...result, faults: result.faults });
    expect(result.lost, summary).toEqual([]);
    expect(result.moved, summary).toEqual([]);
    expect(result.duplicates, summary).toBe(0);
    expect(result.staleReads, summary).toEqual([]);
    const putBacks = result.faults.filter((f) => f.includes('(a rollback)'));
    expect(putBacks.length, summary).toBeGreaterThanOrEqual(1);
    // Each put-back of a copy taken while the node was whole is told by a peer (its disk-rolled-back line).
    expect(result.toldRolledBack, summary).toBeGreaterThanOrEqual(putBacks.filter((f) => !f.includes('the copy holds')).length);
    expect(soakPassed(result)).toBe(true);
  }, 180_000);
});
