// Leadership placement on a real embedded cluster under load, through the tRPC API: a drain with
// its blast radius first, the drained node leading nothing, its leaderships back when healed, a
// restarted node's back after the settle time, the audit trail saying the cluster did it, and
// every acknowledged write read back by a fresh client. Three nodes and five (where placement
// leaves each node without a replica of some partitions).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDurability } from '../drills/verdict.ts';
import { eventually, startHarness, type Harness } from '../test-helpers.ts';

const SETTLE_MS = 1_000;

function leads(h: Harness, node: number): number[] {
  return Array.from({ length: h.cluster.partitionCount }, (_, p) => p).filter((p) => h.cluster.leaderOf(p) === node);
}

/** Every partition led by its preferred replica (all nodes up, none drained): spread evenly. */
async function balanced(h: Harness, what: string): Promise<void> {
  await eventually(async () => ((await h.caller().faults.leadershipSkew()).length === 0 && leads(h, 0).length === 0 ? true : undefined), 30_000, what);
}

/** Every write the load generator had acknowledged, read back by a client that never wrote. */
async function nothingLost(h: Harness): Promise<void> {
  const load = h.app.services.load!;
  await load.close();
  const client = h.cluster.client();
  try {
    const verdict = await checkDurability(client, [...load.ledger.entries()]);
    expect(verdict.checked).toBeGreaterThan(100);
    expect({ lost: verdict.lost, duplicated: verdict.duplicated, misplaced: verdict.misplaced }).toEqual({ lost: 0, duplicated: 0, misplaced: 0 });
  } finally {
    client.close();
  }
}

describe.each([
  { nodeCount: 3, partitionCount: 6 },
  { nodeCount: 5, partitionCount: 20 },
])('leadership placement, $nodeCount nodes × $partitionCount partitions', ({ nodeCount, partitionCount }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ nodeCount, partitionCount, ratePerSec: 200, rebalanceSettleMs: SETTLE_MS });
    // Leaders start where the first elections put them: spread them first, so every move below is the balancer's.
    await eventually(async () => {
      await h.operator().faults.preferredLeaders();
      return (await h.caller().faults.leadershipSkew()).length === 0 ? true : undefined;
    }, 30_000, 'leaders on their preferred replicas');
  });
  afterAll(async () => {
    await h.close();
  });

  it('a drain shows where each leadership goes first, then the node leads nothing until healed, when it gets its share back', async () => {
    const node = h.cluster.nodeIds()[0]!;
    const before = leads(h, node);
    expect(before.length).toBeGreaterThan(0);
    const preview = await h.caller().faults.preview({ action: { kind: 'drain', node } });
    expect(preview.description).toBe(`drain node ${node} (its leaderships move away and stay away)`);
    expect(preview.blast).toMatchObject({ leaderLoss: [], quorumLoss: [] });
    expect(preview.blast.notes[0]).toContain(`${before.length} partition(s) led by node ${node} move their leadership by a transfer`);
    for (const p of before) expect(preview.blast.notes[0]).toMatch(new RegExp(`p${p} → node (?!${node}\\b)\\d`));
    expect(leads(h, node)).toEqual(before); // a preview moves nothing

    const { fault } = await h.operator().faults.inject({ action: { kind: 'drain', node }, timeLimitMs: 600_000 });
    await eventually(() => (leads(h, node).length === 0 ? true : undefined), 15_000, `node ${node} leading nothing`);
    expect((await h.caller().faults.leadership())?.drained).toEqual([node]);
    // It stays drained: nothing drifts back over a few balancer rounds.
    await new Promise((resolve) => setTimeout(resolve, 2 * SETTLE_MS));
    expect(leads(h, node)).toEqual([]);

    await h.operator().faults.heal({ id: fault.id });
    await balanced(h, 'leadership back on the preferred replicas after the heal');
    expect(leads(h, node).length).toBeGreaterThan(0);
    expect((await h.caller().faults.leadership())?.drained).toEqual([]);
    const rows = (await h.caller().audit.list({ action: 'cluster', limit: 20 })).entries.filter((e) => e.action === 'cluster.rebalance');
    expect(rows.some((e) => e.role === 'system' && e.text.startsWith(`node ${node} drained: leadership transfers to the preferred replicas`))).toBe(true);
    expect(rows.some((e) => e.text.startsWith(`node ${node} undrained: leadership transfers to the preferred replicas`))).toBe(true);
  });

  it('a crashed node restarted gets its preferred leaderships back by itself once it has been up for the settle time', async () => {
    const node = h.cluster.nodeIds()[1]!;
    expect(leads(h, node).length).toBeGreaterThan(0);
    const { fault } = await h.operator().faults.inject({ action: { kind: 'crash', node }, timeLimitMs: 600_000 });
    await eventually(() => (Array.from({ length: partitionCount }, (_, p) => h.cluster.leaderOf(p)).every((l) => l !== 0 && l !== node) ? true : undefined), 15_000, 'new leaders for its partitions');
    await h.operator().faults.heal({ id: fault.id }); // restarts it
    await balanced(h, 'leadership back on the restarted node');
    expect(leads(h, node).length).toBeGreaterThan(0);
    const rows = (await h.caller().audit.list({ action: 'cluster.rebalance', limit: 5 })).entries;
    expect(rows[0]?.text).toMatch(new RegExp(`^node ${node} restarted: leadership transfers to the preferred replicas \\(p\\d+ \\d→${node}`));
    // The round after the moves finds it balanced: the return is done.
    await eventually(async () => ((await h.caller().faults.leadership())?.returning.length === 0 ? true : undefined), 5_000, 'the return done');
  });

  it('lost nothing: every acknowledged write reads back from a fresh client', async () => {
    await nothingLost(h);
  });
});
