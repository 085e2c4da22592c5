import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { simulate, type SimOptions, type SimResult } from './simulator.ts';

export interface SeedsSummary {
  readonly seedsRun: number;
  readonly faultsInjected: number;
  readonly ackedChecked: number;
  readonly deletedByRetention: number;
  /** Bytes rotted under running nodes ('rotSegment'), and how many of them a read caught before the node restarted. */
  readonly rotted: number;
  readonly corruptReadsCaught: number;
  readonly corruptScrubsCaught: number;
  /** Disks put back to an older copy ('rollbackDisk'), and how often a peer told a node its disk went back. */
  readonly rolledBack: number;
  readonly rollbacksFound: number;
  readonly failures: readonly SimResult[];
  readonly elapsedMs: number;
}

/** Runs seeds [first, first + count) on `jobs` worker threads (one per core by default). */
export async function runSeeds(first: number, count: number, options: { jobs?: number; sim?: Partial<SimOptions>; onResult?: (result: SimResult) => void } = {}): Promise<SeedsSummary> {
  const startedMs = performance.now();
  const jobs = Math.max(1, Math.min(options.jobs ?? availableParallelism(), count));
  const results: SimResult[] = [];
  const take = (result: SimResult): void => {
    results.push(result);
    options.onResult?.(result);
  };
  if (jobs === 1) {
    for (let seed = first; seed < first + count; seed++) take(await simulate(seed, options.sim));
  } else {
    let next = first;
    await Promise.all(
      Array.from({ length: jobs }, () =>
        new Promise<void>((resolve, reject) => {
          const worker = new Worker(new URL('./worker-entry.mjs', import.meta.url), { workerData: { sim: options.sim ?? {} } });
          const feed = (): void => {
            if (next < first + count) worker.postMessage(next++);
            else void worker.terminate().then(() => resolve());
          };
          worker.on('message', (result: SimResult) => {
            take(result);
            feed();
          });
          worker.on('error', reject);
          feed();
        }),
      ),
    );
  }
  return {
    seedsRun: results.length,
    faultsInjected: results.reduce((sum, r) => sum + r.faultsInjected, 0),
    ackedChecked: results.reduce((sum, r) => sum + r.acked - r.deletedByRetention, 0),
    deletedByRetention: results.reduce((sum, r) => sum + r.deletedByRetention, 0),
    rotted: results.reduce((sum, r) => sum + (r.faultKinds['rotSegment'] ?? 0), 0),
    corruptReadsCaught: results.reduce((sum, r) => sum + r.corruptReadsCaught, 0),
    corruptScrubsCaught: results.reduce((sum, r) => sum + r.corruptScrubsCaught, 0),
    rolledBack: results.reduce((sum, r) => sum + (r.faultKinds['rollbackDisk'] ?? 0), 0),
    rollbacksFound: results.reduce((sum, r) => sum + r.rollbacksFound, 0),
    failures: results.filter((r) => r.violations.length > 0).sort((a, b) => a.seed - b.seed),
    elapsedMs: performance.now() - startedMs,
  };
}
