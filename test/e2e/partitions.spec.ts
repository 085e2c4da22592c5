import { expect, test } from '@playwright/test';
import { mutate, query, shot } from './console-api.ts';

interface PartitionView {
  partition: number;
  leader: number;
  replicas: number[];
  term: number;
  commitIndex: number;
  highWatermark: number;
}

test('the map shows each leader by text, and changes when a leader moves', async ({ page, request }) => {
  await page.goto('/?page=partitions');
  const map = await query<{ partitions: PartitionView[] }>(request, 'partitions.map');
  const p0 = map.partitions.find((p) => p.partition === 0 && p.leader !== 0);
  expect(p0, 'partition 0 has a leader').toBeDefined();
  if (!p0) return;
  const leaderCell = page.getByTestId(`partition-cell-0-${p0.leader}`);
  await expect(leaderCell).toContainText('L');
  await expect(leaderCell).toHaveAttribute('title', /leader/);
  await shot(page, 'partitions-before');

  const to = p0.replicas.find((r) => r !== p0.leader);
  expect(to).toBeDefined();
  if (to === undefined) return;
  const moved = await mutate(request, 'faults.transferLeadership', { partition: 0, to });
  expect(moved.status).toBe(200);

  const newCell = page.getByTestId(`partition-cell-0-${to}`);
  await expect(newCell).toHaveAttribute('data-role', 'leader', { timeout: 30_000 });
  await expect(newCell).toContainText('L');
  await expect(page.getByTestId(`partition-cell-0-${p0.leader}`)).not.toHaveAttribute('data-role', 'leader');
  await shot(page, 'partitions-after-transfer');
});

test('clicking a partition opens its detail, matching the API', async ({ page, request }) => {
  await page.goto('/?page=partitions');
  await page.getByRole('button', { name: 'Partition 1 detail' }).click();
  await expect(page).toHaveURL(/partition=1/);
  await expect(page.getByRole('region', { name: 'Partition 1' })).toBeVisible();
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.waitForTimeout(1_500);
  const p = await query<PartitionView>(request, 'partitions.get', { partition: 1 });
  await expect(page.getByTestId('partition-leader')).toHaveText(p.leader === 0 ? 'none' : `node ${p.leader}`);
  await expect(page.getByTestId('partition-term')).toHaveText(String(p.term));
  // Commit index moves with the load: the paused screen holds a value at most a poll old.
  const shown = Number(await page.getByTestId('partition-commit-index').textContent());
  expect(shown).toBeLessThanOrEqual(p.commitIndex);
  expect(shown).toBeGreaterThan(0);
  await expect(page.getByRole('table', { name: 'Replicas of partition 1' }).getByRole('row')).toHaveCount(p.replicas.length + 1);
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
