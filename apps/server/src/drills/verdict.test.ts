// The durability verdict when retention deleted records a drill acknowledged: those below the
// partition's log start are counted apart, everything from the start on is still checked, and a
// drill with a small retention on a real embedded cluster passes instead of failing its read-back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedCluster } from '../../../../packages/log-cluster/src/cluster.ts';
import { LogError } from '../../../../packages/log-cluster/src/errors.ts';
import { recordDigest, type LedgerEntry } from '../load/ledger.ts';
import { LoadGenerator } from '../load/generator.ts';
import { DrillEngine } from './engine.ts';
import { reportMarkdown } from './report.ts';
import { checkDurability, type ReadBackClient } from './verdict.ts';

const value = (n: number): Uint8Array => new TextEncoder().encode(`record-${n}`);
const acked = (partition: number, offset: number, n = offset): LedgerEntry => ({ partition, offset, digest: recordDigest(value(n)) });

/** A log of partition 0 holding `record-<offset>` at offsets start..end-1 (one hole where asked), read as the client reads it. */
function logFrom(start: number, end: number, options: { missing?: number; earliestOffset?: boolean } = {}): ReadBackClient & { reads: number[] } {
  const reads: number[] = [];
  return {
    reads,
    readAll(partition, from = 0) {
      reads.push(from);
      if (from < start) {
        const details = options.earliestOffset === false ? { partition } : { partition, earliestOffset: start };
        return Promise.reject(new LogError('OffsetOutOfRange', `offset ${from} was deleted by retention`, details));
      }
      const records = [];
      for (let offset = from; offset < end; offset++) if (offset !== options.missing) records.push({ offset, value: value(offset) });
      return Promise.resolve(records);
    },
  };
}

describe('durability verdict', () => {
  it('counts acknowledged writes below the log start as deleted by retention and checks the rest', async () => {
    const client = logFrom(40, 100, { missing: 70 });
    const entries = [10, 20, 39, 40, 55, 70, 99].map((offset) => acked(0, offset));
    const verdict = await checkDurability(client, entries);
    expect(client.reads).toEqual([10, 40]);
    expect(verdict).toMatchObject({ checked: 7, deletedByRetention: 3, lost: 1, misplaced: 0, duplicated: 0 });
    expect(verdict.examples).toContain('deleted by retention: 3 acknowledged writes of partition 0 lie below its log start 40');
    expect(verdict.examples.some((e) => e.startsWith('lost: partition 0 offset 70'))).toBe(true);
  });

  it('a record at or after the log start with another value is misplaced, not deleted', async () => {
    const verdict = await checkDurability(logFrom(40, 100), [acked(0, 30), acked(0, 50, 60)]);
    expect(verdict).toMatchObject({ deletedByRetention: 1, lost: 0, misplaced: 1 });
  });

  it('an OffsetOutOfRange that names no log start fails the read-back', async () => {
    await expect(checkDurability(logFrom(40, 100, { earliestOffset: false }), [acked(0, 10)])).rejects.toThrow('deleted by retention');
  });
});

describe('a drill on a cluster whose retention deletes what it acknowledged', () => {
  let dir = '';
  let cluster: EmbeddedCluster | null = null;
  let load: LoadGenerator | null = null;
  let engine: DrillEngine | null = null;
  afterEach(async () => {
    await engine?.close();
    await load?.close();
    await cluster?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('passes, with the deleted writes counted apart and none lost', async () => {
    dir = mkdtempSync(join(tmpdir(), 'logscope-drill-retention-'));
    // 64 KiB segments, 192 KiB kept a node, looked at every 50 ms: 1 KiB records at 300/s fill that in under a second.
    cluster = await EmbeddedCluster.start({
      dataDir: join(dir, 'cluster'),
      nodeCount: 3,
      partitionCount: 3,
      node: { journal: { segmentBytes: 64 << 10, retentionBytes: 192 << 10, retentionMs: 3_600_000, cacheBytes: 1 << 20 }, retentionIntervalMs: 50 },
    });
    expect(await cluster.waitForLeaders(10_000)).toBe(true);
    load = new LoadGenerator(cluster.client(), { ratePerSec: 300, recordBytes: 1024 });
    load.start();
    engine = new DrillEngine({ cluster, load, dataDir: dir });
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // a baseline
    const run = await engine.wait((await engine.start('leader-failover', 'unattended')).id);
    if (run.status !== 'passed') console.log(reportMarkdown(run));
    expect(run.status, run.outcome ?? '').toBe('passed');
    expect(run.verdict?.lost).toBe(0);
    expect(run.verdict?.deletedByRetention).toBeGreaterThan(0);
    expect(run.verdict!.checked).toBeGreaterThan(run.verdict!.deletedByRetention!);
    expect(run.outcome).toMatch(/deleted by retention before the read-back/);
  });
});
