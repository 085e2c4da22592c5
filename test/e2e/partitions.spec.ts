import { expect, test } from '@playwright/test';
import { leadershipSettled, mutate, query, shot } from './console-api.ts';

interface GridPartition {
  partition: number;
  leader: number;
  term: number;
  replicas: { node: number; state: string }[];
}
interface PartitionView {
  partition: number;
  leader: number;
  replicas: number[];
  term: number;
  commitIndex: number;
}

test('the map shows each partition\'s leader in text, and follows a leadership transfer', async ({ page, request }) => {
  await leadershipSettled(request); // no automatic return may move partition 0 meanwhile
  await page.goto('/?page=partitions');
  const grid = await query<{ partitions: GridPartition[] }>(request, 'partitions.grid');
  const p0 = grid.partitions.find((p) => p.partition === 0 && p.leader !== 0);
  expect(p0, 'partition 0 has a leader').toBeDefined();
  if (!p0) return;
  const cell = page.getByTestId('pcell-0');
  await expect(cell).toHaveAttribute('data-leader', String(p0.leader));
  await expect(cell).toHaveAttribute('aria-label', new RegExp(`leader node ${p0.leader}`));
  await expect(page.getByRole('region', { name: new RegExp(`^Led by node ${p0.leader}`) }).getByTestId('pcell-0')).toBeVisible();
  await shot(page, 'partitions-before');

  const to = p0.replicas.map((r) => r.node).find((r) => r !== p0.leader);
  expect(to).toBeDefined();
  if (to === undefined) return;
  const moved = await mutate(request, 'faults.transferLeadership', { partition: 0, to });
  expect(moved.status).toBe(200);
  await expect(cell).toHaveAttribute('data-leader', String(to), { timeout: 30_000 });
  // A leader change is a problem for a minute ("re-elected"), shown by symbol and in words.
  await expect(cell).toHaveAttribute('data-problems', /re-elected/);
  await expect(cell).toContainText('↻');
  await page.getByRole('checkbox', { name: 'Problems only' }).check();
  await expect(cell).toBeVisible();
  await shot(page, 'partitions-after-transfer');
});

test('search narrows the map, and clicking a partition opens its detail, matching the API', async ({ page, request }) => {
  await page.goto('/?page=partitions');
  await page.getByRole('searchbox', { name: 'Find partition' }).fill('1');
  await expect(page.locator('[data-testid^="pcell-"]')).toHaveCount(1);
  await page.getByRole('button', { name: 'Partition 1 detail' }).click();
  await expect(page).toHaveURL(/partition=1/);
  await expect(page.getByRole('region', { name: 'Partition 1' })).toBeVisible();
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.waitForTimeout(1_500);
  const p = await query<PartitionView>(request, 'partitions.get', { partition: 1 });
  await expect(page.getByTestId('partition-leader')).toHaveText(p.leader === 0 ? 'none' : `node ${p.leader}`);
  await expect(page.getByTestId('partition-term')).toHaveText(String(p.term));
  const shown = Number(await page.getByTestId('partition-commit-index').textContent());
  expect(shown).toBeLessThanOrEqual(p.commitIndex);
  expect(shown).toBeGreaterThan(0);
  const replicaTable = page.getByRole('table', { name: 'Replicas of partition 1' });
  await expect(replicaTable.getByRole('row')).toHaveCount(p.replicas.length + 1);
  // Where each replica's log starts (retention deleted what is before it), as its node reports it.
  await expect(replicaTable.getByRole('columnheader', { name: 'log start (offset)' })).toHaveAttribute('title', /older records were deleted by retention/);
  await expect(page.getByTestId(`log-start-1-${p.leader}`)).toHaveText(/^\d+$/);
  await expect(page.getByTestId(`partition-cell-1-${p.leader}`)).toHaveAttribute('data-role', 'leader');
  await expect(page.getByTestId('epoch-list')).toContainText(`node ${p.leader}`);
  await shot(page, 'partition-detail');

  // The URL restores the selection.
  await page.reload();
  await expect(page.getByRole('region', { name: 'Partition 1' })).toBeVisible();
});

test('a partition that does not exist shows the server\'s error in the panel, not a blank page', async ({ page }) => {
  await page.goto('/?page=partitions&partition=999');
  await expect(page.getByRole('region', { name: 'Partition 999' }).getByRole('alert')).toContainText('does not exist');
  await expect(page.getByRole('region', { name: 'Partition map' })).toBeVisible();
  await shot(page, 'partition-error');
});
