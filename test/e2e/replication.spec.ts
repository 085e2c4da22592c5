import { expect, test } from '@playwright/test';
import { mutate, recordResponses, shot } from './console-api.ts';

interface Summary {
  underReplicated: { partition: number }[];
  stateCounts: Record<'leader' | 'in-sync' | 'lagging' | 'offline' | 'unknown', number>;
}

test('replica states, lag heatmap, laggards and under-replicated list show what the API reports', async ({ page }) => {
  const seen = recordResponses<Summary>(page, 'replication.summary');
  await page.goto('/?page=replication');
  await expect(page.getByRole('region', { name: 'Replica states' })).toBeVisible();
  await expect(page.getByTestId('replicas-in-sync')).toHaveText(/^\d+$/, { timeout: 30_000 });
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.waitForTimeout(2_500);
  const s = seen.at(-1);
  expect(s).toBeDefined();
  if (!s) return;
  await expect(page.getByTestId('replicas-in-sync')).toHaveText(String(s.stateCounts['in-sync']));
  await expect(page.getByTestId('replicas-offline')).toHaveText(String(s.stateCounts.offline));
  await expect(page.getByTestId('replication-under-count')).toHaveText(String(s.underReplicated.length));
  if (s.underReplicated.length === 0) await expect(page.getByTestId('replication-under-replicated')).toHaveText('No under-replicated partitions.');
  else await expect(page.getByTestId(`under-row-${s.underReplicated[0]?.partition}`)).toBeVisible();
  await shot(page, 'replication');
});

test('a crashed node makes its partitions under-replicated, with the offline replica named', async ({ page, request }) => {
  await page.goto('/?page=replication');
  expect((await mutate(request, 'faults.crash', { node: 3 })).status).toBe(200);
  try {
    const table = page.getByRole('table', { name: 'Under-replicated partitions' });
    await expect(table).toContainText('node 3: offline', { timeout: 30_000 });
    await expect(page.getByRole('img', { name: /lag heatmap/ })).toBeVisible({ timeout: 30_000 });
    await shot(page, 'replication-node-down');
  } finally {
    expect((await mutate(request, 'faults.restart', { node: 3 })).status).toBe(200);
  }
});

test('the partition filter narrows the page and stays in the URL', async ({ page }) => {
  await page.goto('/?page=replication&partition=2');
  await expect(page.getByRole('combobox', { name: 'Partition' })).toHaveValue('2');
  await expect(page.getByTestId('replicas-in-sync')).toHaveText(/^[0-2]$/, { timeout: 30_000 });
});
