// Scenarios the console specs share: the same script against the default app (3 × 12) and the
// fleet app (5 × 1 024).
import { expect, type APIRequestContext, type Page } from '@playwright/test';
import { leadershipSettled, mutate, query, shot } from '../console-api.ts';

export interface Target {
  baseUrl: string;
  api: APIRequestContext;
  token: string;
  /** Screenshot name prefix. */
  name: string;
}

interface GridLite {
  nowMs: number;
  partitions: { partition: number; leader: number; term: number; replicas: { node: number }[] }[];
}

/** The value a datetime-local input takes for this instant, in the browser's time zone. */
const localInput = (page: Page, ms: number) => page.evaluate((t) => new Date(t - new Date(t).getTimezoneOffset() * 60_000).toISOString().slice(0, 19), ms);

/** A drill's fault window is shaded on the Latency chart where its crash happened. */
export async function drillWindowOnLatency(page: Page, app: Target): Promise<void> {
  // The drill refuses to start while a partition has no leader (the previous test crashed a node).
  let started: { status: number; data: { id: string } | null } = { status: 0, data: null };
  await expect.poll(async () => (started = await mutate<{ id: string }>(app.api, 'drills.start', { name: 'leader-failover', mode: 'unattended' }, app.token)).status, { timeout: 180_000, intervals: [3_000] }).toBe(200);
  const runId = started.data?.id;
  expect(runId).toBeTruthy();
  interface Run { status: string; steps: { title: string; actionAtMs: number | null }[] }
  await expect.poll(async () => (await query<Run>(app.api, 'drills.run', { id: runId })).status, { timeout: 150_000, intervals: [2_000] }).not.toBe('running');
  const run = await query<Run>(app.api, 'drills.run', { id: runId });
  const crashAtMs = run.steps[0]?.actionAtMs;
  const restartAtMs = run.steps[2]?.actionAtMs;
  expect(crashAtMs).toEqual(expect.any(Number));

  await page.goto(`${app.baseUrl}/?page=latency`);
  const chart = page.getByRole('region', { name: 'p50 / p99 / p99.9 / max over time' });
  const window = chart.getByRole('listitem', { name: /Leader failover: crashed node/ });
  await expect(window).toBeVisible({ timeout: 60_000 });
  await expect(window).toHaveAttribute('data-start-ms', String(crashAtMs));
  if (typeof restartAtMs === 'number') await expect(window).toHaveAttribute('data-end-ms', String(restartAtMs));
  // Placed on the 5-minute axis where the crash happened: the share of the range before it.
  const leftPct = Number(await window.getAttribute('data-left-pct'));
  const expectedPct = ((Number(crashAtMs) - (Date.now() - 5 * 60_000)) / (5 * 60_000)) * 100;
  expect(Math.abs(leftPct - expectedPct)).toBeLessThan(10);
  await expect(window).toHaveAttribute('title', /by operator .*healed/);
  await shot(page, `${app.name}-latency-drill-window`);
}

/** The partition map scrubbed to a moment before a leadership transfer shows the old leader. */
export async function scrubShowsOldLeader(page: Page, app: Target, p: number): Promise<void> {
  // The partition's leader must move only by this scenario's transfer, not by a pending automatic return.
  await leadershipSettled(app.api);
  const grid = (atMs?: number) => query<GridLite>(app.api, 'partitions.grid', atMs === undefined ? {} : { atMs });
  const then = await grid();
  const old = then.partitions[p];
  expect(old?.leader).toBeGreaterThan(0);
  if (!old) return;
  // The moment input keeps whole seconds, so then.nowMs itself could land before a leadership change
  // that had just happened (a CI run scrubbed to a second earlier and saw that leader). A second
  // later it still precedes the transfer below, which waits 2 s.
  const pastMs = then.nowMs + 1_000;
  const to = old.replicas.map((r) => r.node).find((n) => n !== old.leader);
  expect(to).toBeDefined();
  await new Promise((r) => setTimeout(r, 2_000));
  expect((await mutate(app.api, 'faults.transferLeadership', { partition: p, to }, app.token)).status).toBe(200);
  await expect.poll(async () => (await grid()).partitions[p]?.leader, { timeout: 30_000 }).toBe(to);

  await page.goto(`${app.baseUrl}/?page=partitions&partition=${p}`);
  const cell = page.getByTestId(`pcell-${p}`);
  await expect(cell).toHaveAttribute('data-leader', String(to), { timeout: 60_000 });
  await page.getByLabel('map moment').fill(await localInput(page, pastMs));
  await expect(page).toHaveURL(/[?&]at=\d+/);
  await expect(cell).toHaveAttribute('data-leader', String(old.leader));
  await expect(page.getByTestId('partition-leader')).toHaveText(`node ${old.leader}`);
  await expect(page.getByTestId('epoch-list')).toContainText(`node ${to}`);
  await shot(page, `${app.name}-partitions-scrubbed`);
  await page.getByRole('button', { name: 'Back to now' }).click();
  await expect(cell).toHaveAttribute('data-leader', String(to));
}
