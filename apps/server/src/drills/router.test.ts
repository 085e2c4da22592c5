// Drills over tRPC: viewers read, operators run (audited); a guided run step by step; server
// shutdown mid-drill heals the fault and the run survives the restart as aborted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from '../test-helpers.ts';
import { DrillEngine } from './engine.ts';

describe('drills router', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ ratePerSec: 200 });
  });
  afterAll(async () => {
    await h.close();
  });

  it('lists the drills to viewers and refuses a viewer who starts one (audited)', async () => {
    const list = await h.caller().drills.list();
    expect(list.available).toBe(true);
    expect(list.drills.map((d) => d.name)).toEqual(['leader-failover', 'follower-catch-up', 'minority-isolation', 'slow-disk', 'quorum-loss', 'corrupted-segment', 'bit-rot', 'corrupted-tail', 'disk-rollback', 'disk-full']);
    expect(list.drills[0]?.steps[0]?.buttonLabel).toBe('Run step 1: Crash the leader');
    await expect(h.caller().drills.start({ name: 'leader-failover', mode: 'guided' })).rejects.toThrow(/operator token/);
    const audit = await h.operator().audit.list({ limit: 5 });
    expect(JSON.stringify(audit)).toContain('drills.start');
  });

  it('runs a guided drill step by step to a passing verdict', async () => {
    const op = h.operator();
    const run = await op.drills.start({ name: 'follower-catch-up', mode: 'guided' });
    await expect(op.drills.start({ name: 'leader-failover', mode: 'guided' })).rejects.toThrow(/one drill at a time/);
    await expect(op.drills.runStep({ index: 1 })).rejects.toThrow(/run step 1 first/);
    await op.drills.runStep({ index: 0 });
    await eventually(async () => ((await op.drills.run({ id: run.id }))?.steps[0]?.status === 'passing' ? true : undefined), 15_000, 'lag grows');
    await op.drills.runStep({ index: 1 });
    const done = await eventually(async () => {
      const r = await h.caller().drills.run({ id: run.id });
      return r !== null && r.status !== 'running' ? r : undefined;
    }, 30_000, 'run ends');
    expect(done.status, done.outcome ?? '').toBe('passed');
    expect(done.verdict?.lost).toBe(0);
    const md = await h.caller().drills.report({ id: run.id, format: 'markdown' });
    expect(md?.body).toContain('**0 lost**');
  });

  it('server shutdown mid-drill heals the injected fault; the run persists as aborted', async () => {
    const op = h.operator();
    const run = await op.drills.start({ name: 'leader-failover', mode: 'guided' });
    await op.drills.runStep({ index: 0 });
    expect(h.cluster.health().some((n) => !n.up)).toBe(true);
    await h.app.close();
    expect(h.cluster.health().every((n) => n.up)).toBe(true);
    expect(h.cluster.activeFaults()).toEqual([]);
    const reopened = new DrillEngine({ cluster: h.cluster, load: null, dataDir: h.dataDir });
    expect(reopened.get(run.id)?.status).toBe('aborted');
  });
});
