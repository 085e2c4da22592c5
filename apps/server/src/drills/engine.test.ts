// Drills 1, 2, 5, bit rot and the disk put back run unattended against a real embedded cluster under
// load: every check passes and the durability verdict finds no acknowledged write lost.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedCluster } from '../../../../packages/log-cluster/src/cluster.ts';
import { LoadGenerator } from '../load/generator.ts';
import { DrillEngine } from './engine.ts';
import { reportMarkdown } from './report.ts';

describe('drills, unattended, on a real embedded cluster', () => {
  let dir: string;
  let cluster: EmbeddedCluster;
  let load: LoadGenerator;
  let engine: DrillEngine;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'logscope-drills-'));
    cluster = await EmbeddedCluster.start({ dataDir: join(dir, 'cluster'), nodeCount: 3, partitionCount: 6 });
    expect(await cluster.waitForLeaders(10_000)).toBe(true);
    load = new LoadGenerator(cluster.client(), { ratePerSec: 200, recordBytes: 64 });
    load.start();
    engine = new DrillEngine({ cluster, load, dataDir: dir });
    await new Promise((r) => setTimeout(r, 1_500)); // a baseline
  });

  afterAll(async () => {
    await engine.close();
    await load.close();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const name of [process.env.DRILL ?? 'leader-failover', 'follower-catch-up', 'quorum-loss', 'bit-rot', 'disk-rollback']) {
    it(`${name} passes with 0 acknowledged writes lost and 0 stale reads`, async () => {
      const started = await engine.start(name, 'unattended');
      const run = await engine.wait(started.id);
      if (run.status !== 'passed') console.log(reportMarkdown(run));
      expect(run.status, run.outcome ?? '').toBe('passed');
      expect(run.steps.every((s) => s.status === 'passing')).toBe(true);
      expect(run.verdict?.lost).toBe(0);
      expect(run.verdict?.checked).toBeGreaterThan(0);
      // Reads too: acknowledged offsets were read during the drill and none came back stale.
      expect(run.verdict?.readsChecked).toBeGreaterThan(0);
      expect(run.verdict?.staleReads).toBe(0);
      expect(run.recoverMs).not.toBeNull();
      if (name === 'leader-failover') expect(run.readRecoverMs).not.toBeNull();
      // Nobody restarted the rotted node: it stopped on the record and came back by itself.
      if (name === 'bit-rot') expect(run.steps[0]?.figure).toMatch(/stopped on the rotted record and restarted by itself .* its recovery cut seg-\d+\.log at \d+/);
      // The copy put back was found by a peer, which the step's figure names.
      if (name === 'disk-rollback') {
        const victim = run.bindings.victim;
        expect(run.steps[1]?.figure).toMatch(new RegExp(`^node ${victim}: node \\d found its disk put back to an older copy`));
        expect(run.steps[1]?.did).toMatch(new RegExp(`^crashed node ${victim}, put back the copy of its disk taken .* ago \\(\\d+ files, [\\d.]+ MiB\\)`));
      }
      // Persisted: a fresh engine over the same data dir sees the result.
      expect(new DrillEngine({ cluster, load, dataDir: dir }).get(run.id)?.status).toBe('passed');
    });
  }
});
