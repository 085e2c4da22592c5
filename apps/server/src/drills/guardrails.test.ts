// Drill guardrails on a real embedded cluster: a guided run abandoned by its operator aborts
// itself and heals; a drill does not start on an unhealthy cluster unless forced; a node the
// drill did not target going down (the cluster's own signal) aborts the drill.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedCluster } from '../../../../packages/log-cluster/src/cluster.ts';
import { LoadGenerator } from '../load/generator.ts';
import { DrillEngine } from './engine.ts';

describe('drill guardrails', () => {
  let dir: string;
  let cluster: EmbeddedCluster;
  let load: LoadGenerator;
  let engine: DrillEngine;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'logscope-guardrails-'));
    cluster = await EmbeddedCluster.start({ dataDir: join(dir, 'cluster'), nodeCount: 3, partitionCount: 6 });
    expect(await cluster.waitForLeaders(10_000)).toBe(true);
    load = new LoadGenerator(cluster.client(), { ratePerSec: 100, recordBytes: 64 });
    load.start();
    engine = new DrillEngine({ cluster, load, dataDir: dir, idleAbortMs: 1_500, healthWaitMs: 500 });
  });

  afterAll(async () => {
    await engine.close();
    await load.close();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const healthy = async (): Promise<void> => {
    await cluster.healAll();
    expect(await cluster.waitForLeaders(10_000)).toBe(true);
    for (let i = 0; i < 100 && engine.healthProblems().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  };

  it('an abandoned guided run aborts itself after the idle limit and heals its fault', async () => {
    await healthy();
    const started = await engine.start('follower-catch-up', 'guided');
    await engine.runStep(0);
    const run = await engine.wait(started.id);
    expect(run.status).toBe('aborted');
    expect(run.outcome).toContain('abandoned: no step was run');
    expect(cluster.health().every((h) => h.up)).toBe(true);
    expect(cluster.activeFaults()).toEqual([]);
  });

  it('refuses to start on an unhealthy cluster, and starts when forced', async () => {
    await healthy();
    const down = cluster.nodeIds()[2]!;
    cluster.crash(down);
    await expect(engine.start('leader-failover', 'guided')).rejects.toThrow(new RegExp(`not healthy: node ${down} \\(crashed\\) down.*start with force`));
    const forced = await engine.start('leader-failover', 'guided', { force: true });
    expect(forced.timeline.map((e) => e.text).join('\n')).toContain('started by force on an unhealthy cluster');
    const run = await engine.abort();
    expect(run.status).toBe('aborted');
    expect(cluster.health().every((h) => h.up)).toBe(true);
  });

  it('a node the drill did not target that is down for a moment only does not stop the drill', async () => {
    await healthy();
    // A second engine whose stop condition waits 5 s: far longer than an embedded restart takes.
    const patient = new DrillEngine({ cluster, load, dataDir: join(dir, 'patient'), idleAbortMs: 60_000, healthWaitMs: 500, stopDownMs: 5_000 });
    try {
      const started = await patient.start('leader-failover', 'guided');
      const node = cluster.nodeIds()[0]!;
      cluster.crash(node); // nothing was bound yet: not the drill's doing
      await new Promise((r) => setTimeout(r, 300)); // the watcher sees it down
      await cluster.restart(node);
      await new Promise((r) => setTimeout(r, 1_000));
      const run = await patient.abort();
      expect(run.id).toBe(started.id);
      expect(run.outcome).toContain('aborted by the operator');
      expect(run.timeline.map((e) => e.text)).toEqual(expect.arrayContaining([`node ${node} down`, `node ${node} up`]));
    } finally {
      await patient.close();
    }
  });

  it('a node the drill did not target going down aborts the drill (stop condition)', async () => {
    await healthy();
    const started = await engine.start('leader-failover', 'guided');
    cluster.crash(cluster.nodeIds()[0]!); // nothing was bound yet: not the drill's doing
    const run = await engine.wait(started.id);
    expect(run.status).toBe('aborted');
    expect(run.outcome).toMatch(/stop condition: node \d+ went down although the drill did not target it/);
    expect(cluster.health().every((h) => h.up)).toBe(true);
  });
});
