import { describe, expect, it } from 'vitest';
import { runSeeds } from './run-seeds.ts';
import { simulate } from './simulator.ts';

describe('deterministic simulator', () => {
  it('replays a seed exactly: same faults, same acknowledgements, same event count', async () => {
    const first = await simulate(7);
    const second = await simulate(7);
    expect(second).toEqual(first);
    expect(first.acked).toBeGreaterThan(100);
  });

  it('200 seeds with random faults: no acknowledged record lost or moved, no divergence, no duplicate, no dirty read, progress after healing', async () => {
    const summary = await runSeeds(1000, 200, { jobs: 2 });
    const report = summary.failures.map((failure) => `seed ${failure.seed} (replay: npm run sim -- --seed ${failure.seed}):\n  ${failure.violations.slice(0, 5).join('\n  ')}`).join('\n');
    expect(report).toBe('');
    expect(summary.seedsRun).toBe(200);
    // The run must really have exercised faults and checked acknowledged writes.
    expect(summary.faultsInjected).toBeGreaterThan(500);
    expect(summary.ackedChecked).toBeGreaterThan(100_000);
  }, 300_000);

  it('40 seeds with retention deleting segments under the faults: followers that fall behind the log start are caught up, nothing else is lost', async () => {
    const summary = await runSeeds(5000, 40, { jobs: 2, sim: { retentionBytes: 48 << 10 } });
    const report = summary.failures.map((failure) => `seed ${failure.seed} (replay: npm run sim -- --seed ${failure.seed} --retention-kib 48):\n  ${failure.violations.slice(0, 5).join('\n  ')}`).join('\n');
    expect(report).toBe('');
    // Retention really deleted acknowledged records (they are below the final log start).
    expect(summary.deletedByRetention).toBeGreaterThan(1_000);
  }, 300_000);
});
