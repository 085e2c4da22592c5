// On-call ergonomics through the console, as an on-call engineer uses it: runbook buttons with
// a blast-radius preview, time limits and Heal; a banner on every page during a drill; guided
// drills that abort themselves when abandoned; failover figures that are the system's time;
// the per-node latency view; the audit filter.
import { expect, test, type Page } from '@playwright/test';
import { OPERATOR_TOKEN, mutate, pendingReturns, query, shot } from './console-api.ts';

interface Health { node: number; up: boolean }
interface PartitionMap { partitions: { partition: number; leader: number }[] }

async function asOperator(page: Page, path: string): Promise<void> {
  await page.goto(path);
  await page.getByLabel('Operator token').fill(OPERATOR_TOKEN);
  // The token is checked when entered, not at the first action.
  await expect(page.getByTestId('operator-badge')).toHaveText('Operator');
}

/**
 * Waits until no node is down, no fault is active (a previous spec's fault has healed), and no
 * restarted node waits for its leaderships back: the map read next is not about to move by itself.
 */
async function settled(page: Page): Promise<void> {
  await expect.poll(async () => {
    const f = await query<{ activeFaults: unknown[]; health: Health[] }>(page.request, 'faults.list');
    const d = await query<unknown>(page.request, 'drills.current');
    return f.activeFaults.length === 0 && f.health.every((h) => h.up) && d === null && (await pendingReturns(page.request)) === 0;
  }, { timeout: 60_000 }).toBe(true);
}

test('a fault button previews its blast radius, heals itself at its time limit, and Heal heals at once', async ({ page }) => {
  await settled(page);
  await asOperator(page, '/?page=faults');
  const map = await query<PartitionMap>(page.request, 'partitions.map');
  const leader = map.partitions.find((p) => p.leader !== 0)!.leader;
  const led = map.partitions.filter((p) => p.leader === leader).map((p) => `p${p.partition}`);

  await page.getByLabel('Action').selectOption('crash');
  await page.getByLabel('Node', { exact: true }).selectOption(String(leader));
  await page.getByLabel('Time limit').selectOption('10');
  await page.getByRole('button', { name: 'Preview blast radius' }).click();
  const dialog = page.getByRole('dialog', { name: 'Confirm fault' });
  for (const p of led) await expect(dialog.getByTestId('blast-leader-loss')).toContainText(p);
  await expect(dialog.getByTestId('blast-quorum-loss')).toHaveText('none');
  await expect(dialog.getByTestId('cluster-healthy')).toBeVisible({ timeout: 30_000 });
  await shot(page, 'fault-confirm');
  await dialog.getByRole('button', { name: `Confirm: crash node ${leader}` }).click();

  const active = page.getByRole('region', { name: 'Active faults' });
  await expect(active.getByTestId('active-fault')).toContainText(`crash node ${leader}`);
  await expect(page.getByRole('region', { name: 'Drill or fault active' })).toContainText(`Fault active: crash node ${leader} — auto-heals in`);
  expect((await query<{ health: Health[] }>(page.request, 'faults.list')).health.find((h) => h.node === leader)?.up).toBe(false);
  // The time limit heals it: the node is restarted without anyone pressing anything.
  await expect(active.getByTestId('healed-fault').first()).toContainText(`crash node ${leader} — healed by time limit`, { timeout: 30_000 });
  await expect(active.getByTestId('no-active-faults')).toBeVisible();
  expect((await query<{ health: Health[] }>(page.request, 'faults.list')).health.find((h) => h.node === leader)?.up).toBe(true);

  // A second fault with a long limit, healed from the banner on another page.
  await settled(page);
  await page.getByLabel('Action').selectOption('slowFsync');
  await page.getByLabel('Node', { exact: true }).selectOption(String(leader));
  await page.getByLabel('Time limit').selectOption('300');
  await page.getByRole('button', { name: 'Preview blast radius' }).click();
  await expect(dialog.getByTestId('blast-radius')).toContainText(`every fsync of node ${leader} takes 50 ms longer`);
  await expect(dialog.getByTestId('cluster-healthy')).toBeVisible({ timeout: 30_000 });
  await dialog.getByRole('button', { name: `Confirm: slow node ${leader}'s fsync by 50 ms` }).click();
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Overview' }).click();
  const banner = page.getByRole('region', { name: 'Drill or fault active' });
  await expect(banner).toContainText(`slow node ${leader}'s fsync by 50 ms`);
  await shot(page, 'fault-banner');
  await banner.getByRole('button', { name: `Heal: slow node ${leader}'s fsync by 50 ms` }).click();
  await expect(banner).toBeHidden();
  const faults = await query<{ recent: { description: string; healedBy: string | null }[] }>(page.request, 'faults.operatorFaults');
  expect(faults.recent[0]).toMatchObject({ description: `slow node ${leader}'s fsync by 50 ms`, healedBy: 'operator' });
});

test('scrub a node\'s log now: the preview says what it reads and what a bad record would stop; it is audited without a time limit', async ({ page }) => {
  await settled(page);
  await asOperator(page, '/?page=faults');
  const map = await query<PartitionMap>(page.request, 'partitions.map');
  const leader = map.partitions.find((p) => p.leader !== 0)!.leader;
  const led = map.partitions.filter((p) => p.leader === leader).map((p) => p.partition);
  await page.getByLabel('Action').selectOption({ label: 'Scrub a node\'s log now (check every record)' });
  await page.getByLabel('Node', { exact: true }).selectOption(String(leader));
  await expect(page.getByLabel('Time limit')).toHaveCount(0); // nothing to heal
  await page.getByRole('button', { name: 'Preview blast radius' }).click();
  const dialog = page.getByRole('dialog', { name: 'Confirm fault' });
  const blast = dialog.getByTestId('blast-radius');
  await expect(blast).toContainText(new RegExp(`node ${leader} reads back its whole log \\(at most [\\d.]+ MiB on disk: about \\d+ s at the default 4 MiB/s\\)`));
  await expect(blast).toContainText(`the ${led.length} partition(s) it leads would elect a new leader`);
  await expect(dialog.getByTestId('blast-leader-loss')).toHaveText('none');
  await expect(dialog).not.toContainText('Heals itself after');
  await expect(dialog.getByTestId('cluster-healthy')).toBeVisible({ timeout: 30_000 });
  await shot(page, 'fault-scrub-confirm');
  await dialog.getByRole('button', { name: `Confirm: scrub node ${leader}'s whole log now` }).click();
  await expect(dialog).toBeHidden();
  const audit = await query<{ entries: { text: string }[] }>(page.request, 'audit.list', { action: 'faults.inject', limit: 1 });
  expect(audit.entries[0]?.text).toBe(`scrub node ${leader}'s whole log now`);
});

test('drain a node: the preview names where each leadership goes, the node table marks it drained while it leads nothing, and healing gives its share back by itself', async ({ page }) => {
  await settled(page);
  await asOperator(page, '/?page=faults');
  const map = await query<PartitionMap>(page.request, 'partitions.map');
  const leader = map.partitions.find((p) => p.leader !== 0)!.leader;
  const led = map.partitions.filter((p) => p.leader === leader).map((p) => p.partition);
  const description = `drain node ${leader} (its leaderships move away and stay away)`;
  await page.getByLabel('Action').selectOption({ label: 'Drain a node (move its leaderships away, keep them away)' });
  await page.getByLabel('Node', { exact: true }).selectOption(String(leader));
  await page.getByLabel('Time limit').selectOption('300');
  await page.getByRole('button', { name: 'Preview blast radius' }).click();
  const dialog = page.getByRole('dialog', { name: 'Confirm fault' });
  const blast = dialog.getByTestId('blast-radius');
  await expect(blast).toContainText(`${led.length} partition(s) led by node ${leader} move their leadership by a transfer`);
  for (const p of led) await expect(blast).toContainText(new RegExp(`p${p} → node \\d`));
  await expect(blast).toContainText(`while drained, node ${leader} is handed no leadership back`);
  await expect(dialog.getByTestId('blast-leader-loss')).toHaveText('none');
  await expect(dialog).toContainText('Undrains itself after 300 s');
  await expect(dialog.getByTestId('cluster-healthy')).toBeVisible({ timeout: 30_000 });
  await shot(page, 'fault-drain-confirm');
  await dialog.getByRole('button', { name: `Confirm: ${description}` }).click();
  await expect(page.getByRole('region', { name: 'Active faults' }).getByTestId('active-fault')).toContainText(description);

  const leadsOf = async (node: number): Promise<number> => (await query<PartitionMap>(page.request, 'partitions.map')).partitions.filter((p) => p.leader === node).length;
  await expect.poll(() => leadsOf(leader), { timeout: 30_000 }).toBe(0);
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Latency' }).click();
  const row = page.getByTestId('node-row').filter({ has: page.getByRole('button', { name: `Filter by node ${leader}`, exact: true }) });
  await expect(row.getByTestId('drained')).toBeVisible();
  // Its replicas were told to campaign last (the table reads the node's own health).
  await expect(row).toContainText(/drained, campaigns last\s*0 of \d+/);
  await expect(page.getByTestId('leadership-auto')).toContainText(`Drained: node ${leader}.`);
  await expect(page.getByTestId('leadership-last')).toContainText(`node ${leader} drained`);
  await shot(page, 'node-table-drained');

  await page.getByRole('region', { name: 'Drill or fault active' }).getByRole('button', { name: `Heal: ${description}` }).click();
  // Nobody moves leadership back: the balancer does, and says so in the trail.
  await expect.poll(() => leadsOf(leader), { timeout: 30_000 }).toBeGreaterThan(0);
  await expect.poll(async () => (await query<unknown[]>(page.request, 'faults.leadershipSkew')).length, { timeout: 30_000 }).toBe(0);
  await expect(row.getByTestId('drained')).toHaveCount(0);
  const audit = await query<{ entries: { text: string }[] }>(page.request, 'audit.list', { action: 'cluster.rebalance', limit: 5 });
  expect(audit.entries.map((e) => e.text).join('\n')).toContain(`node ${leader} undrained: leadership transfers to the preferred replicas`);
});

test('during a drill every page shows a banner with Abort', async ({ page }) => {
  await settled(page);
  await asOperator(page, '/?page=drills');
  await page.getByRole('button', { name: 'Start guided: Leader failover' }).click();
  const run = page.getByRole('region', { name: 'Drill run' });
  // The target is named before step 1 is pressed.
  await expect(run.getByTestId('drill-target')).toContainText(/step 1 targets node \d+ \(leader of partition \d+\)/);
  const nav = page.getByRole('navigation', { name: 'Pages' });
  for (const name of ['Overview', 'Latency', 'Replication', 'Partitions', 'Traces', 'Faults', 'Drills', 'Audit']) {
    await nav.getByRole('link', { name }).click();
    await expect(page.getByRole('main', { name })).toBeVisible();
    await expect(page.getByRole('region', { name: 'Drill or fault active' }), `banner on ${name}`).toContainText('Drill running: Leader failover (guided)');
  }
  await shot(page, 'drill-banner');
  await page.getByRole('region', { name: 'Drill or fault active' }).getByRole('button', { name: 'Abort drill' }).click();
  await expect(page.getByRole('region', { name: 'Drill or fault active' })).toBeHidden({ timeout: 60_000 });
});

test('an abandoned guided drill aborts itself after the idle limit and heals its fault', async ({ page }) => {
  await settled(page);
  await asOperator(page, '/?page=drills');
  await page.getByRole('button', { name: 'Start guided: Follower crash and catch-up' }).click();
  const run = page.getByRole('region', { name: 'Drill run' });
  const card = run.getByRole('article', { name: 'Step 1: Crash a follower' });
  await card.getByRole('button', { name: 'Run step 1: Crash a follower' }).click();
  await expect(card.getByTestId('step-1-check')).toContainText('Check: passing', { timeout: 45_000 });
  // Nobody presses step 2. The server (LOGSCOPE_DRILL_IDLE_ABORT_S=20 in the e2e server) gives up.
  await expect(run.getByTestId('drill-run-status')).toHaveText('Status: aborted', { timeout: 90_000 });
  await expect(page.getByRole('region', { name: 'Drill report' })).toContainText('abandoned: no step was run');
  const f = await query<{ activeFaults: unknown[]; health: Health[] }>(page.request, 'faults.list');
  expect(f.activeFaults).toEqual([]);
  expect(f.health.every((h) => h.up)).toBe(true);
  await shot(page, 'drill-abandoned');
});

test('the failover figure is the system\'s time, not the operator\'s pause', async ({ page }) => {
  await settled(page);
  await asOperator(page, '/?page=drills');
  await page.getByRole('button', { name: 'Start guided: Leader failover' }).click();
  const run = page.getByRole('region', { name: 'Drill run' });
  const steps = ['Crash the leader', 'Watch the new leader commit', 'Restart the old leader'];
  for (const [i, title] of steps.entries()) {
    const card = run.getByRole('article', { name: `Step ${i + 1}: ${title}` });
    // A deliberate operator pause after the crash, before watching the commit.
    if (i === 1) await page.waitForTimeout(10_000);
    await card.getByRole('button', { name: `Run step ${i + 1}: ${title}` }).click();
    await expect(card.getByTestId(`step-${i + 1}-check`)).toContainText('Check: passing', { timeout: 45_000 });
  }
  const report = page.getByRole('region', { name: 'Drill report' });
  await expect(report.getByTestId('drill-verdict')).toContainText('Verdict: passed — 0 lost', { timeout: 45_000 });
  const figure = (await report.getByTestId('drill-recover').innerText()).trim();
  const recoverMs = figure.endsWith(' ms') ? Number(figure.slice(0, -3)) : Number(figure.slice(0, -2)) * 1000;
  const commitRow = await report.getByRole('row').filter({ hasText: 'first commit since the fault' }).innerText();
  const m = /, (\d+(?:\.\d+)?) (ms|s) after it/.exec(commitRow);
  expect(m, commitRow).not.toBeNull();
  const commitMs = m![2] === 'ms' ? Number(m![1]) : Number(m![1]) * 1000;
  expect(Math.abs(recoverMs - commitMs), `failover ${figure} vs timeline "${commitRow}"`).toBeLessThanOrEqual(1_000);
  // The pause is reported apart.
  expect(await report.getByTestId('drill-operator-wait').innerText()).toMatch(/\d+\.\d\d s/);
  await shot(page, 'drill-failover-figure');
});

test('the per-node latency view names the node whose fsync was slowed', async ({ page }) => {
  await settled(page);
  const nodes = (await query<{ health: Health[] }>(page.request, 'faults.list')).health.map((h) => h.node);
  const slow = nodes[nodes.length - 1]!;
  const injected = await mutate<{ fault: { id: string } }>(page.request, 'faults.inject', { action: { kind: 'slowFsync', node: slow, delayMs: 40 }, timeLimitMs: 120_000 });
  expect(injected.status).toBe(200);
  try {
    await page.goto('/?page=latency&metric=fsync&range=1m');
    await expect(page.getByTestId('worst-node')).toContainText(`Worst: node ${slow}`, { timeout: 45_000 });
    await expect(page.getByTestId('node-row').first()).toContainText(`node ${slow}`);
    await expect(page.getByTestId('node-row').first()).toContainText('fsync slowed 40 ms');
    // Each node reports the memory of its log index (entries written since start: at least bytes).
    await expect(page.getByTestId('index-memory').first()).toHaveText(/^\d+(\.\d)? (B|KiB|MiB|GiB)$/);
    // And what it feeds followers catching up from disk (idle when no follower is behind).
    await expect(page.getByTestId('catch-up-feed').first()).toHaveText(/^(idle|\d+(\.\d)? (B|KiB|MiB|GiB)\/s from disk · \d+(\.\d)? (B|KiB|MiB|GiB) in flight( · read budget reached)?)$/);
    // And its scrub: every node has started its first pass over its log by now.
    await expect(page.getByTestId('scrub').first()).toHaveText(/^(between passes|\d+(\.\d)? (B|KiB|MiB|GiB)\/s checked) · \d+ pass(es)?$/);
    // And what retention did (the default 4 GiB: nothing deleted yet), from the node's own counters.
    await expect(page.getByTestId('retention').first()).toHaveText(/^(nothing deleted|\d+(\.\d)? MiB deleted) · \d+ snapshots? sent$/);
    await shot(page, 'latency-per-node');
  } finally {
    await mutate(page.request, 'faults.heal', { id: injected.data!.fault.id });
  }
});

test('the audit trail filters by action, outcome and time and reads as actions', async ({ page }) => {
  expect((await mutate(page.request, 'faults.healAll', undefined, null)).status).toBe(401);
  expect((await mutate(page.request, 'load.configure', { ratePerSec: 200 })).status).toBe(200);
  await page.goto('/?page=audit');
  // The global range picker filters nothing here, so it is not shown.
  await expect(page.getByRole('group', { name: 'Time range' })).toHaveCount(0);
  const rows = page.getByTestId('audit-row');
  await expect(rows.first()).toBeVisible();
  // While a new filter's rows load, the old ones stay on screen marked busy: read the rows only
  // once the table is the answer to the filters chosen (CI once read the previous filter's rows).
  const settled = async () => {
    await expect(page.getByRole('table', { name: 'Audit trail' })).toHaveAttribute('aria-busy', 'false');
    return rows.allInnerTexts();
  };

  await page.getByLabel('Outcome').selectOption('refused');
  await expect(rows.first()).toContainText('refused: heal every fault');
  for (const text of await settled()) expect(text).toContain('refused');

  await page.getByLabel('Outcome').selectOption('ok');
  await page.getByLabel('Action').selectOption('load');
  await expect(rows.first()).toContainText('set the load to 200 records/s');
  for (const text of await settled()) expect(text).toContain('load.');

  // A time window that ends before any entry: nothing matches.
  await page.getByLabel('Action').selectOption('');
  await page.getByLabel('To time').fill('2001-01-01T00:00:00');
  await expect(page.getByText('No entry matches these filters.')).toBeVisible();
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await expect(rows.first()).toBeVisible();
  await shot(page, 'audit-filtered');
});

test('unknown non-page paths are 404 and each node\'s Prometheus metrics are served', async ({ request }) => {
  expect((await request.get('/metrics')).status()).toBe(404);
  expect((await request.get('/no/such/thing.js')).status()).toBe(404);
  expect((await request.get('/')).status()).toBe(200);
  const metrics = await request.get('/nodes/1/metrics');
  expect(metrics.status()).toBe(200);
  expect(metrics.headers()['content-type']).toContain('text/plain');
  expect(await metrics.text()).toMatch(/^logscope_append_latency_seconds_count/m);
  expect((await request.get('/nodes/99/metrics')).status()).toBe(404);
});

test('a malformed link reads as a sentence, not as validation JSON', async ({ page }) => {
  await page.goto('/?page=traces&trace=zzzz');
  const error = page.getByRole('alert').filter({ hasText: 'Could not load' });
  await expect(error).toContainText('a trace id is 32 lowercase hex characters');
  await expect(error).not.toContainText('"code"');
});
