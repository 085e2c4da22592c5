// Runbook faults over the tRPC API against a real embedded cluster: the blast radius comes from
// the live map, two presses inject one fault, the time limit heals it, Heal heals it now.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from '../test-helpers.ts';

describe('runbook faults', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ partitionCount: 6, load: false });
  });
  afterAll(async () => {
    await h.close();
  });

  const healthy = () =>
    eventually(
      () => (h.cluster.health().every((n) => n.up) && h.cluster.activeFaults().length === 0 && Array.from({ length: 6 }, (_, p) => h.cluster.leaderOf(p)).every((l) => l !== 0) ? true : undefined),
      15_000,
      'a healthy cluster',
    );

  it('previews which partitions lose their leader when a node that leads some crashes', async () => {
    const leader = h.cluster.leaderOf(0);
    const led = Array.from({ length: 6 }, (_, p) => p).filter((p) => h.cluster.leaderOf(p) === leader);
    const preview = await h.caller().faults.preview({ action: { kind: 'crash', node: leader } });
    expect(preview.blast.leaderLoss).toEqual(led);
    expect(preview.blast.quorumLoss).toEqual([]);
    expect(preview.blast.notes.join('\n')).toContain(`${led.length} partition(s) lose their leader`);
    expect(h.cluster.health().every((n) => n.up)).toBe(true); // a preview injects nothing
  });

  it('previews quorum loss when a second replica set member is already down', async () => {
    const [a, b] = h.cluster.replicasOf(0);
    await h.operator().faults.inject({ action: { kind: 'crash', node: a! }, timeLimitMs: 60_000 });
    const preview = await h.caller().faults.preview({ action: { kind: 'crash', node: b! } });
    expect(preview.blast.quorumLoss).toContain(0);
    expect(preview.problems.join(' ')).toContain(`node ${a} down`);
    await h.operator().faults.healAll();
    await healthy();
  });

  it('two presses with one idempotency key inject one fault; Heal restarts the node', async () => {
    await healthy();
    const node = h.cluster.nodeIds()[1]!;
    const input = { action: { kind: 'crash' as const, node }, timeLimitMs: 60_000, idempotencyKey: 'press-twice-0001' };
    const [first, second] = await Promise.all([h.operator().faults.inject(input), h.operator().faults.inject(input)]);
    expect(first.fault.id).toBe(second.fault.id);
    expect([first.repeated, second.repeated].sort()).toEqual([false, true]);
    expect(h.cluster.activeFaults().filter((f) => f.kind === 'crash')).toHaveLength(1);
    expect((await h.caller().faults.operatorFaults()).active.map((f) => f.id)).toEqual([first.fault.id]);
    const healed = await h.operator().faults.heal({ id: first.fault.id });
    expect(healed).toMatchObject({ status: 'healed', healedBy: 'operator' });
    expect(h.cluster.health().find((n) => n.node === node)?.up).toBe(true);
    await healthy();
  });

  it('a fault heals itself when its time limit passes', async () => {
    await healthy();
    const node = h.cluster.nodeIds()[2]!;
    const { fault } = await h.operator().faults.inject({ action: { kind: 'slowFsync', node, delayMs: 20 }, timeLimitMs: 1_000 });
    expect(h.cluster.health().find((n) => n.node === node)?.fsyncDelayMs).toBe(20);
    const healed = await eventually(async () => (await h.caller().faults.operatorFaults()).recent.find((f) => f.id === fault.id && f.status === 'healed'), 10_000, 'auto-heal');
    expect(healed.healedBy).toBe('time limit');
    expect(h.cluster.health().find((n) => n.node === node)?.fsyncDelayMs).toBe(0);
  });

  it('Heal all ends a drain the console made too: the node is undrained and campaigns again', async () => {
    await healthy();
    const node = h.cluster.nodeIds()[0]!;
    await h.operator().faults.inject({ action: { kind: 'drain', node }, timeLimitMs: 60_000 });
    expect(h.app.services.balancer?.status().drained).toEqual([node]);
    await eventually(() => (h.cluster.health().find((n) => n.node === node)?.campaignsDeferred === true ? true : undefined), 5_000, 'its campaigns deferred');
    await h.operator().faults.healAll();
    expect(h.app.services.balancer?.status().drained).toEqual([]);
    expect((await h.caller().faults.operatorFaults()).active).toEqual([]);
    expect(h.cluster.health().find((n) => n.node === node)?.campaignsDeferred).toBe(false);
  });

  it('refuses to stack a fault on an unhealthy cluster unless forced, and needs the operator token', async () => {
    await healthy();
    const [x, y] = h.cluster.nodeIds();
    await h.operator().faults.inject({ action: { kind: 'isolate', node: x! }, timeLimitMs: 60_000 });
    await expect(h.operator().faults.inject({ action: { kind: 'crash', node: y! }, timeLimitMs: 60_000 })).rejects.toThrow(/not healthy.*force/);
    await expect(h.caller().faults.inject({ action: { kind: 'crash', node: y! }, timeLimitMs: 60_000 })).rejects.toThrow(/operator token/);
    const forced = await h.operator().faults.inject({ action: { kind: 'crash', node: y! }, timeLimitMs: 60_000, force: true });
    expect(forced.repeated).toBe(false);
    for (const f of (await h.caller().faults.operatorFaults()).active) await h.operator().faults.heal({ id: f.id });
    await healthy();
  });

  it('a down node is one alert, tagged with the console fault that explains it', async () => {
    await healthy();
    const node = h.cluster.nodeIds()[0]!;
    const { fault } = await h.operator().faults.inject({ action: { kind: 'crash', node }, timeLimitMs: 60_000 });
    const alerts = await eventually(async () => {
      const o = await h.caller().cluster.overview();
      return o.alerts.some((a) => a.kind === 'node-down' && a.node === node) && h.app.services.scraper.statuses().some((s) => s.nodeId === node && !s.up) ? o.alerts : undefined;
    }, 10_000, 'the node-down alert');
    const forNode = alerts.filter((a) => a.node === node);
    expect(forNode.map((a) => a.kind)).toEqual(['node-down']);
    expect(forNode[0]?.cause).toBe(`injected fault: crash node ${node}`);
    expect(forNode[0]?.message).toContain(`expected: injected fault: crash node ${node}`);
    await h.operator().faults.heal({ id: fault.id });
    await healthy();
  });

  it('a scrub now: the preview says how much the node reads and what a bad record would stop; it starts a pass at once', async () => {
    await healthy();
    const node = h.cluster.leaderOf(0);
    const led = Array.from({ length: 6 }, (_, p) => p).filter((p) => h.cluster.leaderOf(p) === node);
    // The size comes from the node's scraped logscope_disk_used_bytes.
    const preview = await eventually(async () => {
      const p = await h.caller().faults.preview({ action: { kind: 'scrub', node } });
      return p.blast.notes[0]?.includes('MiB on disk') === true ? p : undefined;
    }, 10_000, 'a preview with the node\'s size on disk');
    expect(preview.description).toBe(`scrub node ${node}'s whole log now`);
    expect(preview.blast).toMatchObject({ leaderLoss: [], quorumLoss: [] });
    expect(preview.blast.notes[0]).toMatch(new RegExp(`^node ${node} reads back its whole log \\(at most \\d+\\.\\d MiB on disk: about \\d+ s at the default 4 MiB/s\\) and checks every record`));
    expect(preview.blast.notes[1]).toContain(`node ${node} stops rather than serve it and restarts by itself 1 s later`);
    expect(preview.blast.notes[1]).toContain(`the ${led.length} partition(s) it leads would elect a new leader (${led.join(', ')})`);

    // The first pass would wait a minute after start; asked, the node checks its log now.
    const passes = h.cluster.node(node)?.scrubStats().passes ?? -1;
    const { fault } = await h.operator().faults.inject({ action: { kind: 'scrub', node }, timeLimitMs: 1_000 });
    expect(fault).toMatchObject({ status: 'healed', expiresMs: null });
    await eventually(() => ((h.cluster.node(node)?.scrubStats().passes ?? 0) > passes ? true : undefined), 10_000, 'a finished scrub pass');
    expect(h.cluster.health().every((n) => n.up)).toBe(true);
    const audit = await h.caller().audit.list({ action: 'faults.inject', limit: 1 });
    expect(audit.entries[0]?.text).toBe(`scrub node ${node}'s whole log now`);
  });

  it('leader skew is reported and moving leadership to the preferred replicas spreads it', async () => {
    await healthy();
    const target = h.cluster.nodeIds()[0]!;
    // A transfer is a request: on a loaded machine the target may not win its election in time (or
    // a follower's timeout moves leadership again), so ask again for what has not moved, as an
    // operator would click again.
    await eventually(async () => {
      for (let p = 0; p < 6; p++) if (h.cluster.leaderOf(p) !== target) await h.operator().faults.transferLeadership({ partition: p, to: target });
      await new Promise((resolve) => setTimeout(resolve, 500));
      return Array.from({ length: 6 }, (_, p) => h.cluster.leaderOf(p)).every((l) => l === target) ? true : undefined;
    }, 20_000, 'every leader on one node');
    // The table reads the scraped map, a scrape behind the engine.
    const skewed = await eventually(async () => {
      const skew = (await h.caller().nodes.table({ range: { lastMs: 60_000 } })).skew;
      return skew?.includes(`node ${target} leads 6`) === true ? skew : undefined;
    }, 10_000, 'the skew warning');
    expect(skewed).toMatch(/^leadership is skewed: node \d+ leads 0/);
    const { moved } = await h.operator().faults.preferredLeaders();
    expect(moved.length).toBeGreaterThan(0);
    await eventually(async () => ((await h.caller().faults.leadershipSkew()).length === 0 ? true : undefined), 15_000, 'leaders on their preferred replicas');
  });

  it('the node table shows each node\'s longest event-loop stall, so a stall of the node itself is told from the disk\'s', async () => {
    await healthy();
    // Hold this process's loop, which runs every embedded node, for 200 ms: as a long task would.
    // The range starts a window (1 s) before, so it holds the window the block falls in; a stall
    // long before (the cluster's start) cannot answer for it.
    const fromMs = Date.now() - 1_000;
    const until = performance.now() + 200;
    while (performance.now() < until) {
      // busy
    }
    const rows = await eventually(async () => {
      const { rows } = await h.caller().nodes.table({ range: { fromMs, toMs: Date.now() + 1 } });
      // At least the block less the sampler's 20 ms interval (and a little rounding).
      return rows.every((r) => (r.loopStallMaxMs ?? 0) >= 170) ? rows : undefined;
    }, 10_000, 'the stall in every node\'s row');
    expect(rows).toHaveLength(h.cluster.nodeIds().length);
  });

  it('a node that stops on a rotted byte and restarts by itself: the audit trail says so as the system, and the overview warns its disk may be failing', async () => {
    await healthy();
    const node = h.cluster.nodeIds()[1]!;
    // Writes first, so its newest segment has records to rot.
    const client = h.cluster.client();
    for (let p = 0; p < 6; p++) await client.append({ partition: p }, [new TextEncoder().encode(`rot-${p}`)]);
    const where = await h.cluster.corruptSegment(node);
    await h.operator().faults.startScrub({ node });
    const entry = await eventually(async () => {
      const page = await h.caller().audit.list({ action: 'cluster', limit: 5 });
      return page.entries.find((e) => e.role === 'system' && (e.input as { node?: number }).node === node);
    }, 20_000, 'the automatic restart in the audit trail');
    expect(entry.action).toBe('cluster.autoRestart');
    expect(entry.outcome).toBe('ok');
    expect(entry.text).toMatch(new RegExp(`^node ${node} restarted by itself after it stopped on disk error: corrupt record in ${where.file} at \\d+.*\\(found by the scrub\\)$`));
    const alert = await eventually(async () => (await h.caller().cluster.overview()).alerts.find((a) => a.kind === 'restarted-by-itself'), 10_000, 'the warning');
    expect(alert).toMatchObject({ severity: 'warning', node, page: 'latency' });
    expect(alert.message).toMatch(new RegExp(`^node ${node} restarted by itself 1 time\\(s\\) in the last 10 min after it stopped on disk error: corrupt record in ${where.file}.*; its disk may be failing \\(after 3 in 10 min it stays down\\)$`));
    // The timeline shows its time down, stop to restart.
    const marks = await h.caller().annotations.list({ range: { lastMs: 120_000 } });
    expect(marks.windows.some((w) => w.label.startsWith(`node ${node} stopped on disk error: corrupt record in ${where.file}`) && w.healedBy === 'restarted by itself' && w.endMs !== null)).toBe(true);
    client.close();
    await h.operator().faults.healAll(); // the rot stays listed as an injected fault until healed
    await healthy();
  });

  it('a replica that lost acknowledged records and cannot get them back yet: the overview warns which node, until it has them again', async () => {
    await healthy();
    const node = h.cluster.nodeIds()[2]!;
    const client = h.cluster.client();
    for (let p = 0; p < 6; p++) await client.append({ partition: p }, [new TextEncoder().encode(`lost-${p}`)]);
    await h.cluster.crash(node);
    await h.cluster.corruptSegment(node);
    // Cut off, nobody can send it what it lost: its recovery keeps a faulty tail, unrepaired.
    h.cluster.isolate(node);
    await h.cluster.restart(node);
    const faulty = h.cluster.node(node)?.recovery.faulty ?? [];
    expect(faulty.length).toBeGreaterThan(0);
    const alert = await eventually(async () => (await h.caller().cluster.overview()).alerts.find((a) => a.kind === 'faulty-tail'), 10_000, 'the warning');
    expect(alert).toMatchObject({ severity: 'warning', node, page: 'overview' });
    expect(alert.message).toMatch(new RegExp(`^node ${node}: ${faulty.length} replica\\(s\\) lost acknowledged records to a storage fault and wait to get them back`));
    // Reconnected, it gets them back from a peer or its leader, and the warning goes.
    await h.operator().faults.healAll();
    await eventually(async () => ((await h.caller().cluster.overview()).alerts.some((a) => a.kind === 'faulty-tail') ? undefined : true), 15_000, 'the warning gone');
    client.close();
    await healthy();
  });

  it('a node back on an older copy of its disk: the overview says which node, and what may have put its disk back', async () => {
    await healthy();
    const node = h.cluster.nodeIds()[1]!;
    const client = h.cluster.client();
    await h.cluster.crash(node);
    await h.cluster.copyDisk(node);
    await h.cluster.restart(node);
    // Acknowledged by every replica, this node too, after the copy; its peers hear how far its disk came.
    for (let round = 0; round < 5; round++) for (let p = 0; p < 6; p++) await client.append({ partition: p }, [new TextEncoder().encode(`after-copy-${round}-${p}`)]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await h.cluster.crash(node);
    await h.cluster.putBackDiskCopy(node);
    await h.cluster.restart(node);
    const alert = await eventually(async () => (await h.caller().cluster.overview()).alerts.find((a) => a.kind === 'disk-went-back'), 10_000, 'the warning');
    expect(alert).toMatchObject({ severity: 'warning', node, page: 'overview' });
    expect(alert.message).toMatch(new RegExp(`^node ${node} came back less than a minute ago with less on its disk than it had told its peers \\(an older copy put back`));
    // It abstained only until caught up: the cluster is whole again, and the warning stays for the window.
    await healthy();
    expect((await h.caller().cluster.overview()).alerts.some((a) => a.kind === 'disk-went-back' && a.node === node)).toBe(true);
    client.close();
  });
});
