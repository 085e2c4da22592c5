import { expect, test } from '@playwright/test';
import { recordResponses, shot } from './console-api.ts';

interface Lag {
  replicas: { partition: number; replica: number; leader: number; inSync: boolean; lagRecords: number }[];
}

test('lag per replica is listed with under-replicated partitions first, as the API reports', async ({ page }) => {
  const seen = recordResponses<Lag>(page, 'replication.lag');
  await page.goto('/?page=replication');
  await expect(page.getByRole('table', { name: 'Replica lag' })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByRole('img', { name: /lag in records/ })).toBeVisible();
  await expect(page.getByRole('img', { name: /lag in seconds/ })).toBeVisible();
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.waitForTimeout(2_500);
  const lag = seen.at(-1);
  expect(lag).toBeDefined();
  if (!lag) return;
  const rows = page.getByRole('table', { name: 'Replica lag' }).locator('tbody tr');
  await expect(rows).toHaveCount(lag.replicas.length);
  const under = [...new Set(lag.replicas.filter((r) => !r.inSync && r.leader !== 0).map((r) => r.partition))];
  if (under.length > 0) {
    await expect(rows.first()).toContainText('under-replicated');
    await expect(rows.first()).toHaveClass(/highlight/);
  } else {
    await expect(page.getByTestId('replication-under-replicated')).toHaveText('No under-replicated partitions.');
  }
  for (const r of lag.replicas.slice(0, 5)) {
    await expect(page.getByTestId(`replica-lag-records-${r.partition}-${r.replica}`)).toHaveText(
      r.lagRecords >= 1e4 ? /k|M/ : String(r.lagRecords),
    );
  }
  await shot(page, 'replication');
});

test('the partition filter narrows the table and stays in the URL', async ({ page }) => {
  await page.goto('/?page=replication&partition=2');
  await expect(page.getByRole('combobox', { name: 'Partition' })).toHaveValue('2');
  const rows = page.getByRole('table', { name: 'Replica lag' }).locator('tbody tr');
  await expect(rows.first()).toBeVisible({ timeout: 30_000 });
  for (const text of await rows.locator('td:first-child').allTextContents()) expect(text).toMatch(/^(▲ )?2( \(under-replicated\))?$/);
});
