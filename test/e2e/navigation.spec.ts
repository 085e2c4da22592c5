import { expect, test } from '@playwright/test';
import { shot } from './console-api.ts';

const PAGES = ['Overview', 'Latency', 'Replication', 'Partitions', 'Traces', 'Drills', 'Audit'];

test('every page is reachable by keyboard from the nav, and Back returns', async ({ page }) => {
  await page.goto('/');
  for (const name of PAGES) {
    const link = page.getByRole('link', { name, exact: true });
    await link.focus();
    await page.keyboard.press('Enter');
    await expect(link).toHaveAttribute('aria-current', 'page');
    await expect(page.getByRole('main', { name })).toBeVisible();
  }
  await page.goBack();
  await expect(page.getByRole('link', { name: 'Drills', exact: true })).toHaveAttribute('aria-current', 'page');
});

test('a copied URL restores page, range and pause', async ({ page, context }) => {
  await page.goto('/?page=replication');
  await page.getByRole('combobox', { name: 'Range window' }).selectOption({ label: 'last 15m' });
  await expect(page).toHaveURL(/range=15m/);
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(page).toHaveURL(/from=\d+&to=\d+/);
  const url = page.url();
  const other = await context.newPage();
  await other.goto(url);
  await expect(other.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Replication' })).toHaveAttribute('aria-current', 'page');
  await expect(other.getByRole('combobox', { name: 'Range window' })).toHaveValue(String(15 * 60_000));
  await expect(other.getByTestId('live-state')).toHaveText(/Paused/);
  await expect(other.getByRole('button', { name: 'Resume live' })).toBeVisible();
  await expect(other.getByLabel('From', { exact: true })).toHaveValue(/\d{4}-\d\d-\d\dT/);
  await shot(other, 'restored-view');
  await other.getByRole('button', { name: 'Resume live' }).click();
  await expect(other).not.toHaveURL(/from=/);
  await expect(other.getByTestId('live-state')).toHaveText(/Live/);
});
